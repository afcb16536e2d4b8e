package flowlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
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
	var zr *gzip.Reader
	var err error
	if v, ok := gzipReaders.Get().(*gzip.Reader); ok {
		zr = v
		err = zr.Reset(br)
	} else {
		zr, err = gzip.NewReader(br)
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
