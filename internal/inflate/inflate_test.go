package inflate_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/flowhunt/flowhunt/internal/inflate"
	"github.com/flowhunt/flowhunt/internal/inflate/inflatetest"
)

func gz(t *testing.T, parts ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, p := range parts {
		w := gzip.NewWriter(&b)
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// stream is what klauspost's multistream reader makes of src.
func stream(src []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func flowText(r *rand.Rand, lines int) string {
	var b strings.Builder
	b.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	for i := 0; i < lines; i++ {
		b.WriteString("2 123456789012 eni-0a1b2c3d 10.0.")
		b.WriteString(strings.Repeat("1", 1+r.IntN(3)))
		b.WriteString(".7 172.31.16.21 443 ")
		b.WriteString(strings.Repeat("9", 1+r.IntN(5)))
		b.WriteString(" 6 10 8400 1700000000 1700000060 ACCEPT OK\n")
	}
	return b.String()
}

func TestGunzipMatchesStreaming(t *testing.T) {
	z := inflatetest.Require(t)
	r := rand.New(rand.NewPCG(1, 2))
	big := flowText(r, 50000) // several MB: more than the first output guess
	cases := map[string][]byte{
		"one member":              gz(t, big),
		"empty member":            gz(t, ""),
		"three members":           gz(t, flowText(r, 10), "", flowText(r, 2000)),
		"members of growing size": gz(t, "x", big, big),
	}
	var dst []byte
	for name, src := range cases {
		want, err := stream(src)
		if err != nil {
			t.Fatalf("%s: streaming: %v", name, err)
		}
		dst, err = z.Gunzip(dst, src, 1<<30)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(dst, want) {
			t.Fatalf("%s: got %d bytes, want %d", name, len(dst), len(want))
		}
	}
}

func TestGunzipRefusesDamage(t *testing.T) {
	z := inflatetest.Require(t)
	good := gz(t, flowText(rand.New(rand.NewPCG(3, 4)), 3000))
	crc := append([]byte(nil), good...)
	crc[len(crc)-8] ^= 0xff // CRC-32 of the member
	middle := append([]byte(nil), good...)
	middle[len(middle)/2] ^= 0x55
	cases := map[string][]byte{
		"truncated":        good[:len(good)/2],
		"no trailer":       good[:len(good)-4],
		"bad checksum":     crc,
		"flipped byte":     middle,
		"trailing garbage": append(append([]byte(nil), good...), "not gzip"...),
		"not gzip":         []byte("version account-id\n"),
	}
	for name, src := range cases {
		if _, err := z.Gunzip(nil, src, 1<<30); !errors.Is(err, inflate.ErrBadData) {
			t.Errorf("%s: got %v, want inflate.ErrBadData", name, err)
		}
		// The streaming reader, which callers fall back to, also fails.
		if _, err := stream(src); err == nil && name != "flipped byte" {
			t.Errorf("%s: the streaming reader accepts it", name)
		}
	}
}

func TestGunzipLimit(t *testing.T) {
	z := inflatetest.Require(t)
	text := flowText(rand.New(rand.NewPCG(5, 6)), 20000)
	src := gz(t, text, text)
	if _, err := z.Gunzip(nil, src, len(text)+len(text)/2); !errors.Is(err, inflate.ErrTooLarge) {
		t.Fatalf("got %v, want inflate.ErrTooLarge", err)
	}
	out, err := z.Gunzip(nil, src, 2*len(text))
	if err != nil || len(out) != 2*len(text) {
		t.Fatalf("at exactly the limit: %d bytes, %v", len(out), err)
	}
}

func FuzzGunzip(f *testing.F) {
	f.Add([]byte("hello\n"), uint8(0))
	f.Add([]byte(strings.Repeat("2 123 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK\n", 40)), uint8(7))
	f.Fuzz(func(t *testing.T, text []byte, cut uint8) {
		z := inflatetest.Require(t)
		src := gz(t, string(text))
		if cut > 0 && int(cut) < len(src) {
			src = src[:len(src)-int(cut)]
		}
		want, werr := stream(src)
		got, err := z.Gunzip(nil, src, 1<<24)
		if werr == nil && (err != nil || !bytes.Equal(got, want)) {
			t.Fatalf("streaming reads %d bytes; Gunzip: %d bytes, %v", len(want), len(got), err)
		}
		if werr != nil && err == nil {
			t.Fatalf("streaming fails (%v), Gunzip accepts %d bytes", werr, len(got))
		}
	})
}
