// Package inflate decompresses whole gzip objects in one call with
// libdeflate, about 2.5 times less CPU per byte than a streaming inflater
// (measured on flow-log objects: 2.4 GB/s against 0.97 GB/s per core for
// klauspost/compress). libdeflate is loaded at run time from the system
// (Debian's libdeflate0); without it, or built without cgo, Available
// reports false and callers stream with klauspost/compress as before.
//
// Whole-buffer decompression suits flow-log objects: AWS writes them a few
// megabytes at a time, and the caller bounds what it is willing to hold.
package inflate

import (
	"encoding/binary"
	"errors"
	"io"
)

// ErrTooLarge is returned when the output would exceed the limit given.
var ErrTooLarge = errors.New("decompressed object is larger than the whole-buffer limit")

// ErrBadData is returned for anything libdeflate cannot decompress: a
// truncated or damaged stream, a checksum mismatch, bytes after the last
// member that are not another member. Callers decompress such objects
// again with a streaming reader to keep the records before the damage and
// report where it is.
var ErrBadData = errors.New("gzip stream is damaged or truncated")

// Available reports whether libdeflate could be loaded.
func Available() bool { return available() }

// Decompressor holds libdeflate's state for one goroutine at a time.
type Decompressor struct {
	d handle
}

// NewDecompressor returns a decompressor, or nil when libdeflate is not
// available. Free releases it.
func NewDecompressor() *Decompressor {
	if !available() {
		return nil
	}
	h := allocDecompressor()
	if h == nil {
		return nil
	}
	return &Decompressor{d: h}
}

// Free releases the decompressor's memory; it is unusable afterwards.
func (z *Decompressor) Free() {
	if z != nil && z.d != nil {
		freeDecompressor(z.d)
		z.d = nil
	}
}

// Gunzip appends the decompressed contents of src, one or more
// concatenated gzip members, to dst[:0] and returns it. The output never
// grows beyond limit bytes (ErrTooLarge). Each member's CRC-32 and length
// are checked.
func (z *Decompressor) Gunzip(dst, src []byte, limit int) ([]byte, error) {
	dst = dst[:0]
	for len(src) > 0 {
		// The trailer of the last member holds its size modulo 2^32: the
		// exact size of a one-member object, a first guess otherwise.
		want := 64 << 10
		if len(src) >= 18 {
			if n := int(binary.LittleEndian.Uint32(src[len(src)-4:])); n > want {
				want = n
			}
		}
		for {
			if len(dst)+want > limit {
				want = limit - len(dst)
			}
			if cap(dst)-len(dst) < want {
				// A quarter more, in whole MiB, so that a buffer reused for
				// objects of similar sizes stops growing after the first few.
				size := min(limit, (len(dst)+want+want/4+1<<20-1)&^(1<<20-1))
				grown := make([]byte, len(dst), size)
				copy(grown, dst)
				dst = grown
			}
			in, out, res := gzipDecompress(z.d, src, dst[len(dst):cap(dst)])
			switch res {
			case resultSuccess:
				dst = dst[:len(dst)+out]
				src = src[in:]
			case resultInsufficientSpace:
				if len(dst)+want >= limit {
					return dst, ErrTooLarge
				}
				want *= 2
				continue
			default:
				return dst, ErrBadData
			}
			break
		}
	}
	return dst, nil
}

// ReadUpTo appends r's bytes to buf until EOF (returning a nil error) or
// until more than limit bytes are held: a whole compressed object to hand
// to Gunzip, read into a buffer the caller reuses.
func ReadUpTo(r io.Reader, buf []byte, limit int) ([]byte, error) {
	for len(buf) <= limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
