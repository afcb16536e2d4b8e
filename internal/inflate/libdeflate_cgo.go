//go:build cgo && linux

package inflate

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>

// The three entry points of libdeflate's ABI that Gunzip needs, resolved
// with dlopen so that building flowhunt does not need libdeflate's headers
// and running it does not need the library.
typedef void *(*fh_alloc_fn)(void);
typedef void (*fh_free_fn)(void *);
typedef int (*fh_gunzip_fn)(void *, const void *, size_t, void *, size_t, size_t *, size_t *);

static fh_alloc_fn fh_alloc;
static fh_free_fn fh_free;
static fh_gunzip_fn fh_gunzip;

static int fh_load(void) {
	void *h = dlopen("libdeflate.so.0", RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		return -1;
	}
	fh_alloc = (fh_alloc_fn)dlsym(h, "libdeflate_alloc_decompressor");
	fh_free = (fh_free_fn)dlsym(h, "libdeflate_free_decompressor");
	fh_gunzip = (fh_gunzip_fn)dlsym(h, "libdeflate_gzip_decompress_ex");
	if (fh_alloc == NULL || fh_free == NULL || fh_gunzip == NULL) {
		dlclose(h);
		return -2;
	}
	return 0;
}

static void *fh_alloc_decompressor(void) { return fh_alloc(); }
static void fh_free_decompressor(void *d) { fh_free(d); }
static int fh_gzip_decompress(void *d, const void *in, size_t in_n, void *out, size_t out_n, size_t *in_used, size_t *out_used) {
	return fh_gunzip(d, in, in_n, out, out_n, in_used, out_used);
}
*/
import "C"

import (
	"os"
	"sync"
	"unsafe"
)

type handle = unsafe.Pointer

// libdeflate's enum libdeflate_result: success and insufficient space
// matter to Gunzip; every other result is bad data.
const (
	resultSuccess           = 0
	resultInsufficientSpace = 3
)

var loaded = sync.OnceValue(func() bool {
	// FLOWHUNT_NO_LIBDEFLATE=1 measures or tests the streaming path.
	if os.Getenv("FLOWHUNT_NO_LIBDEFLATE") != "" {
		return false
	}
	return C.fh_load() == 0
})

func available() bool { return loaded() }

func allocDecompressor() handle { return handle(C.fh_alloc_decompressor()) }

func freeDecompressor(h handle) { C.fh_free_decompressor(h) }

// gzipDecompress decompresses the first gzip member of src into out and
// returns the bytes of src it used, the bytes it wrote and libdeflate's result.
func gzipDecompress(h handle, src, out []byte) (in, n int, res int) {
	if len(src) == 0 || len(out) == 0 {
		if len(out) == 0 && len(src) > 0 {
			return 0, 0, resultInsufficientSpace
		}
		return 0, 0, -1 // nothing to inflate: bad data
	}
	var used, wrote C.size_t
	r := C.fh_gzip_decompress(h, unsafe.Pointer(&src[0]), C.size_t(len(src)), unsafe.Pointer(&out[0]), C.size_t(len(out)), &used, &wrote)
	return int(used), int(wrote), int(r)
}
