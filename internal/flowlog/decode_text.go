package flowlog

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/flowhunt/flowhunt/internal/inflate"
)

// decoder holds the state of one Decode call: the layout in force, the batch
// being filled and the counters.
type decoder struct {
	opts   DecodeOptions
	emit   func(*Batch) error
	reject func(Reject) error
	stats  Stats

	layout Layout
	cols   []column
	ready  bool // layout resolved and batch reset for it
	batch  Batch

	inBuf    *bufio.Reader // object bytes, to look for the gzip magic
	sniffBuf *bufio.Reader // decompressed bytes, to sniff the format
	textBuf  []byte        // blocks of text being cut into lines
	inflater *inflate.Decompressor
	comp     []byte      // a whole gzip object, for the inflater
	whole    []byte      // its decompressed bytes
	header   []byte      // last header line, whose layout is in force
	msgBuf   []byte      // unescaped JSON message
	scratch  []byte      // unescaped JSON strings while scanning envelopes
	env      envMessages // messages of one subscription envelope
}

// setLayout switches to layout l, emitting the records of the previous one.
func (d *decoder) setLayout(l Layout) error {
	if d.ready && d.layout.Equal(l) {
		return nil
	}
	if err := d.flush(); err != nil {
		return err
	}
	d.layout = l
	d.cols = compileLayout(d.cols[:0], l)
	d.batch.Reset(l)
	d.ready = true
	return nil
}

// defaultLayout is the layout of an object without a header line.
func (d *decoder) defaultLayout() Layout {
	if len(d.opts.Layout.Fields) > 0 {
		return d.opts.Layout
	}
	return DefaultLayout
}

func (d *decoder) flush() error {
	if d.batch.Len == 0 {
		return nil
	}
	n := d.batch.Len
	if err := d.emit(&d.batch); err != nil {
		return &callbackError{err}
	}
	d.stats.Records += int64(n)
	d.batch.Reset(d.layout)
	return nil
}

func (d *decoder) rejectLine(no int64, line []byte, reason string) error {
	d.stats.Rejects++
	if len(line) > d.opts.MaxLineBytes {
		line = line[:d.opts.MaxLineBytes]
	}
	text := string(line)
	if !validUTF8(line) {
		// Stores keep Text in UTF-8 columns; the reason says what was wrong.
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	if err := d.reject(Reject{Object: d.opts.Object, Line: no, Reason: reason, Text: text}); err != nil {
		return &callbackError{err}
	}
	return nil
}

// line decodes one line of text (or one event message): a header switches
// the layout, a record goes into the batch, a bad line is rejected.
func (d *decoder) line(line []byte, no int64) error {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if no == 1 {
		// Files saved by Windows editors start with a byte order mark.
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	if len(line) == 0 {
		return nil
	}
	if len(line) > d.opts.MaxLineBytes {
		return d.rejectLine(no, line, fmt.Sprintf("line of %d bytes is longer than the limit of %d bytes", len(line), d.opts.MaxLineBytes))
	}
	c := line[0]
	if c >= 'a' && c <= 'z' && IsHeader(line) {
		if d.ready && bytes.Equal(line, d.header) {
			d.stats.Headers++
			return nil // a repeated header, as concatenated objects have
		}
		l, err := ParseLayout(string(line))
		switch {
		case err == nil:
			d.stats.Headers++
			d.header = append(d.header[:0], line...)
			return d.setLayout(l)
		case !d.ready:
			// The first line names fields but not only known ones: the
			// order of this object cannot be known.
			return fmt.Errorf("cannot decode %s line %d: header: %w", d.opts.Object, no, err)
		}
		// Later on, a record whose first value happens to be a field name
		// (a tag or a service name can be anything): decode it as a record.
	}
	if !d.ready {
		if err := d.setLayout(d.defaultLayout()); err != nil {
			return err
		}
	}
	if reason := d.record(line, no); reason != "" {
		return d.rejectLine(no, line, reason)
	}
	if d.batch.Len >= d.opts.BatchSize {
		return d.flush()
	}
	return nil
}

// record appends line to the batch as one record, or returns why it cannot.
// It is the hot path: no allocation unless the line is bad.
func (d *decoder) record(line []byte, no int64) string {
	if !isASCII(line) && !validUTF8(line) {
		return "invalid UTF-8"
	}
	b := &d.batch
	n := b.Len
	rest := line
	last := len(d.cols) - 1
	var start, end int64
	hasStart, hasEnd := false, false
	for i := range d.cols {
		c := &d.cols[i]
		f := c.field
		// Fast paths for the common values, an integer or an IPv4 address
		// ending where the value must end: cut and parsed in one scan. Any
		// other text takes the general path below, which says what is wrong.
		switch c.class {
		case classInt:
			var v int64
			w := 0
			for w < len(rest) && w < 18 && rest[w]-'0' <= 9 {
				v = v*10 + int64(rest[w]-'0')
				w++
			}
			if w > 0 && v >= c.min && v <= c.max && (i == last && w == len(rest) || i != last && w < len(rest) && rest[w] == ' ') {
				switch f {
				case Start:
					start, hasStart = v, true
				case End:
					end, hasEnd = v, true
				}
				b.Null[f] = append(b.Null[f], false)
				b.Int[f] = append(b.Int[f], v)
				if i != last {
					rest = rest[w+1:]
				}
				continue
			}
		case classAddr:
			if ip, w := scanIPv4(rest); w > 0 && (i == last && w == len(rest) || i != last && w < len(rest) && rest[w] == ' ') {
				b.Null[f] = append(b.Null[f], false)
				b.Str[f].Append(rest[:w])
				b.Addr4[f] = append(b.Addr4[f], Is4Addr|uint64(ip))
				if i != last {
					rest = rest[w+1:]
				}
				continue
			}
		}
		var tok []byte
		if i == last {
			tok = rest
			if bytes.IndexByte(tok, ' ') >= 0 {
				return d.undo(n, reasonCount(line, len(d.cols)))
			}
		} else {
			j := bytes.IndexByte(rest, ' ')
			if j < 0 {
				return d.undo(n, reasonCount(line, len(d.cols)))
			}
			tok, rest = rest[:j], rest[j+1:]
		}
		if len(tok) == 0 {
			return d.undo(n, fmt.Sprintf("empty value for %s (value %d): two spaces in a row; %s", f, i+1, reasonCount(line, len(d.cols))))
		}
		null := len(tok) == 1 && tok[0] == '-'
		b.Null[f] = append(b.Null[f], null)
		if c.class == classInt {
			var v int64
			if !null {
				var ok bool
				v, ok = parseUint(tok)
				if !ok || v < c.min || v > c.max {
					if !ok && !isDigits(tok) {
						return d.undo(n, fmt.Sprintf("%s is not a number: %s", f, quote(tok)))
					}
					return d.undo(n, fmt.Sprintf("%s %s is out of range %d..%d", f, quote(tok), c.min, c.max))
				}
				switch f {
				case Start:
					start, hasStart = v, true
				case End:
					end, hasEnd = v, true
				}
			}
			b.Int[f] = append(b.Int[f], v)
			continue
		}
		if null {
			b.Str[f].End = append(b.Str[f].End, uint32(len(b.Str[f].Buf)))
			if c.class == classAddr {
				b.Addr4[f] = append(b.Addr4[f], 0)
			}
			continue
		}
		switch c.class {
		case classAction:
			if !validAction(tok) {
				return d.undo(n, fmt.Sprintf("action %s is not ACCEPT, REJECT or -", quote(tok)))
			}
		case classStatus:
			if !validStatus(tok) {
				return d.undo(n, fmt.Sprintf("log-status %s is not OK, NODATA, SKIPDATA or -", quote(tok)))
			}
		case classAddr:
			// Not a plain IPv4 address followed by a space: IPv6, or bad.
			var a uint64
			if ip, ok := ParseIPv4(tok); ok {
				a = Is4Addr | uint64(ip)
			} else if _, ok := ParseIP16(tok); !ok {
				return d.undo(n, fmt.Sprintf("%s %s is not an IP address", f, quote(tok)))
			}
			b.Addr4[f] = append(b.Addr4[f], a)
		}
		b.Str[f].Append(tok)
	}
	if hasStart && hasEnd && start > end {
		return d.undo(n, fmt.Sprintf("start %d is after end %d", start, end))
	}
	b.Line = append(b.Line, no)
	b.Len++
	return ""
}

// undo drops the partly appended record n and returns reason.
func (d *decoder) undo(n int, reason string) string {
	d.batch.Len = n + 1
	d.batch.Truncate(n)
	return reason
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// decodeText reads S3 text: blocks cut at the last newline, each line
// decoded in place.
func (d *decoder) decodeText(ctx context.Context, r io.Reader) error {
	if w, ok := r.(*wholeSource); ok {
		return d.decodeWhole(ctx, w.data)
	}
	size := 1 << 20
	if 4*d.opts.MaxLineBytes > size {
		size = 4 * d.opts.MaxLineBytes
	}
	if cap(d.textBuf) < size {
		d.textBuf = make([]byte, size)
	}
	buf := d.textBuf[:size]
	filled := 0       // buf[:filled] holds unread input
	skipping := false // inside an oversize line, discarding until its newline
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := io.ReadFull(r, buf[filled:])
		filled += n
		data := buf[:filled]
		for {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				break
			}
			if skipping {
				skipping = false
			} else {
				d.stats.Lines++
				if err := d.line(data[:i], d.stats.Lines); err != nil {
					return err
				}
			}
			data = data[i+1:]
		}
		if skipping {
			data = data[:0]
		} else if len(data) > d.opts.MaxLineBytes {
			d.stats.Lines++
			if err := d.rejectLine(d.stats.Lines, data, fmt.Sprintf("line is longer than the limit of %d bytes", d.opts.MaxLineBytes)); err != nil {
				return err
			}
			skipping = true
			data = data[:0]
		}
		filled = copy(buf, data)
		if rerr == nil {
			continue
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			// End of input: the last line may lack its newline.
			if filled > 0 && !skipping {
				d.stats.Lines++
				if err := d.line(buf[:filled], d.stats.Lines); err != nil {
					return err
				}
			}
			return d.flush()
		}
		// A read error (a truncated or corrupt stream): keep the records
		// before the damage, quarantine the cut line, then report.
		if filled > 0 && !skipping {
			d.stats.Lines++
			if err := d.rejectLine(d.stats.Lines, buf[:filled], "line cut short by the end of a damaged stream"); err != nil {
				return err
			}
		}
		if err := d.flush(); err != nil {
			return err
		}
		return d.readErr(rerr)
	}
}

// decodeWhole decodes text held whole in memory (an object inflated in one
// call): lines are cut in place, with no copy into blocks.
func (d *decoder) decodeWhole(ctx context.Context, data []byte) error {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		d.stats.Lines++
		if err := d.line(line, d.stats.Lines); err != nil {
			return err
		}
		if d.stats.Lines%8192 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return d.flush()
}
