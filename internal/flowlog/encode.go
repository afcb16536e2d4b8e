package flowlog

import (
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"
)

// AppendCloudWatchExportEvent appends one exported CloudWatch Logs event as
// a JSON line: {"timestamp":start*1000,"message":…,"logStreamName":…}.
// CloudWatch stamps a flow log event with the record's start time. A newline
// is appended.
func AppendCloudWatchExportEvent(dst []byte, r *Record, l Layout, stream string) []byte {
	dst = append(dst, `{"timestamp":`...)
	dst = strconv.AppendInt(dst, r.IntOr(Start, 0)*1000, 10)
	dst = append(dst, `,"message":`...)
	dst = appendJSONText(dst, r, l)
	dst = append(dst, `,"logStreamName":`...)
	dst = appendJSONString(dst, stream)
	return append(dst, "}\n"...)
}

// AppendFirehoseRecord appends one Kinesis Data Firehose record as AWS
// delivers flow logs to a stream: {"message":"<record text>"}, followed by a
// newline.
func AppendFirehoseRecord(dst []byte, r *Record, l Layout) []byte {
	dst = append(dst, `{"message":`...)
	dst = appendJSONText(dst, r, l)
	return append(dst, "}\n"...)
}

// EncodeCloudWatchSubscription writes the records as one CloudWatch Logs
// subscription payload: a gzip'd JSON envelope of type DATA_MESSAGE whose
// logEvents carry the record text, as a subscription filter delivers them to
// Firehose (Lambda receives the same bytes base64-encoded).
func EncodeCloudWatchSubscription(w io.Writer, owner, group, stream string, l Layout, recs []Record) error {
	buf := make([]byte, 0, 256+len(recs)*200)
	buf = append(buf, `{"messageType":"DATA_MESSAGE","owner":`...)
	buf = appendJSONString(buf, owner)
	buf = append(buf, `,"logGroup":`...)
	buf = appendJSONString(buf, group)
	buf = append(buf, `,"logStream":`...)
	buf = appendJSONString(buf, stream)
	buf = append(buf, `,"subscriptionFilters":["flowhunt"],"logEvents":[`...)
	for i := range recs {
		if i > 0 {
			buf = append(buf, ',')
		}
		ts := recs[i].IntOr(Start, 0) * 1000
		// CloudWatch event ids are 56-digit strings; this one is unique
		// within the payload and ordered like the events.
		buf = append(buf, `{"id":"`...)
		buf = fmt.Appendf(buf, "%032d%024d", ts, i)
		buf = append(buf, `","timestamp":`...)
		buf = strconv.AppendInt(buf, ts, 10)
		buf = append(buf, `,"message":`...)
		buf = appendJSONText(buf, &recs[i], l)
		buf = append(buf, '}')
	}
	buf = append(buf, "]}"...)
	zw := gzip.NewWriter(w)
	if _, err := zw.Write(buf); err != nil {
		return fmt.Errorf("cannot write subscription payload of %s/%s: %w", group, stream, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("cannot write subscription payload of %s/%s: %w", group, stream, err)
	}
	return nil
}

// appendJSONText appends the record text of r as a JSON string.
func appendJSONText(dst []byte, r *Record, l Layout) []byte {
	var scratch [512]byte
	return appendJSONBytes(dst, r.AppendText(scratch[:0], l))
}

// appendJSONString appends s as a JSON string. It serves the envelope's
// names (a few per object), so the copy to bytes costs nothing that matters.
func appendJSONString(dst []byte, s string) []byte { return appendJSONBytes(dst, []byte(s)) }

func appendJSONBytes(dst, s []byte) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = appendJSONEscape(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

func appendJSONEscape(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	const hex = "0123456789abcdef"
	return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
}

// ParquetWriter writes records in the shape of AWS's Parquet delivery: one
// optional column per field of the layout, named as the canonical column
// (the AWS name with '_'), typed INT32, INT64 or STRING as AWS types it.
type ParquetWriter struct {
	w      *parquet.Writer
	layout Layout
	col    [NumFields]int // column index of each field of the layout
	rows   []parquet.Row
	err    error
}

// ParquetSchema returns the Parquet schema AWS's delivery uses for layout l.
func ParquetSchema(l Layout) *parquet.Schema {
	g := parquet.Group{}
	for _, f := range l.Fields {
		var n parquet.Node
		switch fields[f].Kind {
		case KindInt32:
			n = parquet.Int(32)
		case KindInt64:
			n = parquet.Int(64)
		default:
			n = parquet.String()
		}
		g[fields[f].Column] = parquet.Optional(n)
	}
	return parquet.NewSchema("vpc_flow_logs", g)
}

// NewParquetWriter returns a writer of records of layout l to w.
func NewParquetWriter(w io.Writer, l Layout) *ParquetWriter {
	schema := ParquetSchema(l)
	pw := &ParquetWriter{
		w:      parquet.NewWriter(w, schema, parquet.Compression(&parquet.Snappy)),
		layout: l,
	}
	for i, path := range schema.Columns() {
		f, ok := LookupField(path[0])
		if !ok {
			panic("BUG: parquet schema column " + path[0] + " is not a field")
		}
		pw.col[f] = i
	}
	return pw
}

// Write adds one record. Fields of r outside the layout are ignored.
func (pw *ParquetWriter) Write(r *Record) error {
	if pw.err != nil {
		return pw.err
	}
	row := make(parquet.Row, len(pw.layout.Fields))
	for _, f := range pw.layout.Fields {
		c := pw.col[f]
		if !r.Has(f) {
			row[c] = parquet.NullValue().Level(0, 0, c)
			continue
		}
		var v parquet.Value
		switch fields[f].Kind {
		case KindInt32:
			v = parquet.Int32Value(int32(r.ints[f]))
		case KindInt64:
			v = parquet.Int64Value(r.ints[f])
		default:
			v = parquet.ByteArrayValue([]byte(r.strs[f]))
		}
		row[c] = v.Level(0, 1, c)
	}
	pw.rows = append(pw.rows, row)
	if len(pw.rows) >= 1024 {
		return pw.flushRows()
	}
	return nil
}

func (pw *ParquetWriter) flushRows() error {
	if len(pw.rows) == 0 {
		return nil
	}
	if _, err := pw.w.WriteRows(pw.rows); err != nil {
		pw.err = fmt.Errorf("cannot write parquet rows: %w", err)
		return pw.err
	}
	pw.rows = pw.rows[:0]
	return nil
}

// Close flushes the rows and writes the Parquet footer. It does not close
// the underlying writer.
func (pw *ParquetWriter) Close() error {
	if err := pw.flushRows(); err != nil {
		return err
	}
	if err := pw.w.Close(); err != nil {
		return fmt.Errorf("cannot close parquet writer: %w", err)
	}
	return nil
}
