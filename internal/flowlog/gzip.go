package flowlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/flowhunt/flowhunt/internal/inflate"
)

// gzipReaders recycles decompressors: their window and tables are large, and
// an ingest decodes many small objects.
var gzipReaders sync.Pool

// decompress returns the object's bytes, decompressed when they start with
// the gzip magic (whatever the object's name says). Concatenated gzip members
// are read as one stream, as AWS and `cat a.gz b.gz` produce them.
func (d *decoder) decompress(r io.Reader) (io.Reader, func(), error) {
	if d.inBuf == nil {
		d.inBuf = bufio.NewReaderSize(r, 64<<10)
	} else {
		d.inBuf.Reset(r)
	}
	br := d.inBuf
	magic, _ := br.Peek(2)
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return &countingReader{br, &d.stats.Bytes}, func() {}, nil
	}
	in, whole := d.inflateWhole(br)
	if whole != nil {
		return whole, func() {}, nil
	}
	var zr *gzip.Reader
	var err error
	if v, ok := gzipReaders.Get().(*gzip.Reader); ok {
		zr = v
		err = zr.Reset(in)
	} else {
		zr, err = gzip.NewReader(in)
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, fmt.Errorf("cannot decompress %s: %w: %w", d.opts.Object, ErrTruncated, err)
		}
		return nil, nil, fmt.Errorf("cannot decompress %s: %w", d.opts.Object, err)
	}
	zr.Multistream(true)
	src := &gzipSource{zr: zr, object: d.opts.Object, n: &d.stats.Bytes}
	return src, func() { gzipReaders.Put(zr) }, nil
}

// Bounds of whole-object inflation. AWS writes flow-log objects of a few
// megabytes; bigger ones are streamed, so memory stays bounded whatever the
// object's size.
var (
	maxWholeCompressed = 16 << 20
	maxWholeText       = 128 << 20
	keepWholeBuffer    = 64 << 20 // larger buffers are not kept for the next object
)

// inflateObjects turns whole-object inflation on; tests turn it off to
// compare with streaming.
var inflateObjects = true

// wholeSource is an object decompressed in one call, decoded in place.
type wholeSource struct {
	data []byte
	off  int
}

func (w *wholeSource) Read(p []byte) (int, error) {
	if w.off >= len(w.data) {
		return 0, io.EOF
	}
	n := copy(p, w.data[w.off:])
	w.off += n
	return n, nil
}

// inflateWhole reads a gzip object from br and decompresses it in one call
// with libdeflate. It returns the object's text, or, when libdeflate is
// missing, the object is too big, or the stream is damaged, nil and the
// reader to stream the object from instead (what was read, then the rest),
// so that a damaged object keeps its records before the damage as the
// streaming decompressor finds them.
func (d *decoder) inflateWhole(br *bufio.Reader) (io.Reader, *wholeSource) {
	if !inflateObjects {
		return br, nil
	}
	if d.inflater == nil {
		if d.inflater = inflate.NewDecompressor(); d.inflater == nil {
			return br, nil
		}
	}
	if d.comp == nil {
		d.comp = make([]byte, 0, 256<<10)
	}
	comp, err := inflate.ReadUpTo(br, d.comp[:0], maxWholeCompressed)
	d.comp = comp
	if err != nil {
		return io.MultiReader(bytes.NewReader(comp), errReader{err}), nil
	}
	if len(comp) > maxWholeCompressed {
		return io.MultiReader(bytes.NewReader(comp), br), nil
	}
	text, err := d.inflater.Gunzip(d.whole, comp, maxWholeText)
	if cap(text) <= keepWholeBuffer {
		d.whole = text
	} else {
		d.whole = nil
	}
	if err != nil {
		return bytes.NewReader(comp), nil
	}
	d.stats.Bytes += int64(len(text))
	return nil, &wholeSource{data: text}
}

// errReader returns err, the read error met while buffering an object.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// gzipSource reports a stream cut short as ErrTruncated.
type gzipSource struct {
	zr     *gzip.Reader
	object string
	n      *int64
}

func (g *gzipSource) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	*g.n += int64(n)
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return n, &decompressError{fmt.Errorf("cannot decompress %s: %w: %w", g.object, ErrTruncated, err)}
		}
		return n, &decompressError{fmt.Errorf("cannot decompress %s: %w", g.object, err)}
	}
	return n, err
}

// decompressError is an error of the decompressor, already naming the object.
type decompressError struct{ err error }

func (e *decompressError) Error() string { return e.err.Error() }
func (e *decompressError) Unwrap() error { return e.err }

// readErr names the object in an error met while reading it.
func (d *decoder) readErr(err error) error {
	var de *decompressError
	if errors.As(err, &de) {
		return err
	}
	return fmt.Errorf("cannot read %s: %w", d.opts.Object, err)
}

type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}
