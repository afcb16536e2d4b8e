package flowlog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Format is a delivery format of flow log records.
type Format uint8

const (
	// FormatAuto sniffs the format from the first bytes of the (decompressed) object.
	FormatAuto Format = iota
	// FormatText is S3 plain text: one record per line, header line optional.
	FormatText
	// FormatCloudWatch is CloudWatch Logs: exported JSON events, console
	// exports ("ISO-timestamp record" lines) or a subscription payload.
	FormatCloudWatch
	// FormatFirehose is Kinesis Data Firehose: {"message":"…"} records,
	// newline-separated or concatenated.
	FormatFirehose
	// FormatParquet is AWS's Parquet delivery (.log.parquet).
	FormatParquet
)

var formatNames = [...]string{"auto", "text", "cloudwatch", "firehose", "parquet"}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// ParseFormat parses a format name as String returns it.
func ParseFormat(s string) (Format, error) {
	for i, n := range formatNames {
		if n == s {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("cannot parse format %q: want one of auto, text, cloudwatch, firehose, parquet", cut(s, 32))
}

// Reject is one input line (or event, or row) that could not be decoded.
// It is kept, with its text, so that nothing is dropped silently.
type Reject struct {
	Object string // object the line came from
	Line   int64  // 1-based line (or event, or row) number in the object
	Reason string // why the line was rejected
	Text   string // the offending line, cut to MaxLineBytes, invalid UTF-8 replaced by U+FFFD
}

// Error makes a Reject usable as an error.
func (r Reject) Error() string {
	return fmt.Sprintf("cannot decode %s line %d: %s", r.Object, r.Line, r.Reason)
}

// Stats counts what Decode saw in one object.
type Stats struct {
	Lines   int64 // lines (events, rows) read, headers and blank lines included
	Records int64 // records emitted
	Rejects int64 // lines rejected
	Headers int64 // header lines seen
	Bytes   int64 // bytes of decompressed input
}

// DecodeOptions tell Decode how to read one object.
type DecodeOptions struct {
	Object       string // name used in errors and rejects (file path, s3://bucket/key, request id)
	Layout       Layout // used when the input has no header line; zero value => header, else DefaultLayout
	Format       Format
	BatchSize    int // records per emitted batch; default 8192
	MaxLineBytes int // default 64 KiB; longer lines are rejected as oversize
}

const (
	defaultBatchSize    = 8192
	defaultMaxLineBytes = 64 << 10
)

// ErrTruncated is returned, wrapped, when a compressed object ends before
// its end of stream: the records before the damage have been emitted.
var ErrTruncated = errors.New("truncated compressed stream")

// callbackError carries an error returned by emit or reject out of the
// decoder loops, so that Decode returns it unchanged, without context added.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// Decode reads one object (gzip detected by magic bytes, decompressed with
// klauspost/compress), calls emit with each filled Batch (reused after emit
// returns) and reject with each bad line. When reject is nil the first bad
// line is returned as an error (a Reject). A truncated gzip stream returns an
// error wrapping ErrTruncated after emitting the records before the damage.
// Errors returned by emit or reject are returned unchanged. Decode may run
// concurrently, one call per object: that is how objects are decoded (and
// decompressed) in parallel.
func Decode(ctx context.Context, r io.Reader, opts DecodeOptions, emit func(*Batch) error, reject func(Reject) error) (Stats, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = defaultBatchSize
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = defaultMaxLineBytes
	}
	if reject == nil {
		reject = func(rj Reject) error { return rj }
	}
	d, _ := decoders.Get().(*decoder)
	if d == nil {
		d = new(decoder)
	}
	st, err := d.decode(ctx, r, opts, emit, reject)
	decoders.Put(d)
	return st, err
}

// decode runs one Decode with the state of d.
func (d *decoder) decode(ctx context.Context, r io.Reader, opts DecodeOptions, emit func(*Batch) error, reject func(Reject) error) (Stats, error) {
	d.opts, d.emit, d.reject = opts, emit, reject
	d.stats = Stats{}
	d.ready = false
	d.header = d.header[:0]
	err := d.run(ctx, r)
	var cb *callbackError
	if errors.As(err, &cb) {
		err = cb.err
	}
	d.emit, d.reject = nil, nil
	// Pooled state must not keep the caller's reader alive.
	if d.inBuf != nil {
		d.inBuf.Reset(nil)
	}
	if d.sniffBuf != nil {
		d.sniffBuf.Reset(nil)
	}
	return d.stats, err
}

// decoders recycles decoder state (read buffers, batch columns) across
// objects, so that decoding allocates nothing per record in steady state.
var decoders sync.Pool

func (d *decoder) run(ctx context.Context, r io.Reader) error {
	src, closeSrc, err := d.decompress(r)
	if err != nil {
		return err
	}
	defer closeSrc()
	format := d.opts.Format
	if w, ok := src.(*wholeSource); ok && format == FormatAuto {
		format = sniff(w.data[:min(len(w.data), 512)])
	}
	if format == FormatAuto {
		if d.sniffBuf == nil {
			d.sniffBuf = bufio.NewReaderSize(src, 4096)
		} else {
			d.sniffBuf.Reset(src)
		}
		head, _ := d.sniffBuf.Peek(512)
		format = sniff(head)
		src = d.sniffBuf
	}
	switch format {
	case FormatText:
		return d.decodeText(ctx, src)
	case FormatCloudWatch, FormatFirehose:
		return d.decodeEnvelopes(ctx, src, format)
	case FormatParquet:
		return d.decodeParquet(ctx, src)
	}
	return fmt.Errorf("cannot decode %s: unknown format %d", d.opts.Object, format)
}

// sniff guesses the delivery format from the first bytes of an object.
func sniff(head []byte) Format {
	if bytes.HasPrefix(head, []byte("PAR1")) {
		return FormatParquet
	}
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) == 0 {
		return FormatText
	}
	switch {
	case t[0] == '{' || t[0] == '[':
		if bytes.Contains(head, []byte(`"timestamp"`)) || bytes.Contains(head, []byte(`"logEvents"`)) ||
			bytes.Contains(head, []byte(`"events"`)) {
			return FormatCloudWatch
		}
		return FormatFirehose
	case bytes.HasPrefix(t, []byte("H4sI")): // base64 of a gzip stream: a subscription payload
		return FormatCloudWatch
	case isoPrefixLen(t) > 0:
		return FormatCloudWatch
	}
	return FormatText
}
