package flowlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/parquet-go/parquet-go"
)

// maxParquetBytes caps a Parquet object read into memory (Parquet needs
// random access; AWS writes objects far smaller than this).
const maxParquetBytes = 4 << 30

// decodeParquet reads AWS's Parquet delivery. Columns are matched to fields
// by name (account_id or account-id); columns of other names are ignored.
// INT32, INT64 and STRING columns are accepted for any field, and the string
// "-" is NULL as in text. Each row is checked by the rules of a text line, so
// the two deliveries accept exactly the same records. Line numbers are row
// numbers.
func (d *decoder) decodeParquet(ctx context.Context, r io.Reader) (err error) {
	// parquet-go panics on some corrupt files; an object from outside must
	// not take the process down, so a panic becomes this object's error.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cannot decode parquet object %s: corrupt file: %v", d.opts.Object, p)
		}
	}()
	data, err := io.ReadAll(io.LimitReader(r, maxParquetBytes+1))
	if err != nil {
		return d.readErr(err)
	}
	if len(data) > maxParquetBytes {
		return fmt.Errorf("cannot decode %s: parquet object larger than %d bytes", d.opts.Object, maxParquetBytes)
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("cannot open parquet object %s: %w", d.opts.Object, err)
	}
	cols := f.Schema().Columns()
	colField := make([]int, len(cols)) // field of each leaf column, or -1
	var fs []Field
	var seen uint64
	for i, path := range cols {
		colField[i] = -1
		if len(path) != 1 {
			continue
		}
		fld, ok := LookupField(path[0])
		if !ok || seen&(1<<fld) != 0 {
			continue
		}
		seen |= 1 << fld
		colField[i] = int(fld)
		fs = append(fs, fld)
	}
	if len(fs) == 0 {
		return fmt.Errorf("cannot decode parquet object %s: %w: no column is a flow log field", d.opts.Object, ErrLayout)
	}
	l := NewLayout(fs...)
	if err := d.setLayout(l); err != nil {
		return err
	}
	// pos[f] is the position of field f in the layout, to rebuild the line.
	var pos [NumFields]int
	for i, fld := range l.Fields {
		pos[fld] = i
	}
	vals := make([][]byte, len(l.Fields))
	var line []byte
	rows := make([]parquet.Row, 256)
	for _, rg := range f.RowGroups() {
		rr := rg.Rows()
		for {
			if err := ctx.Err(); err != nil {
				rr.Close()
				return err
			}
			n, rerr := rr.ReadRows(rows)
			for _, row := range rows[:n] {
				for i := range vals {
					vals[i] = append(vals[i][:0], '-')
				}
				bad := ""
				for _, v := range row {
					c := v.Column()
					if c < 0 || c >= len(colField) || colField[c] < 0 || v.IsNull() {
						continue
					}
					fld := Field(colField[c])
					p := pos[fld]
					switch v.Kind() {
					case parquet.Int32, parquet.Int64:
						vals[p] = strconv.AppendInt(vals[p][:0], v.Int64(), 10)
					case parquet.ByteArray, parquet.FixedLenByteArray:
						b := v.ByteArray()
						if len(b) == 0 || bytes.IndexByte(b, ' ') >= 0 || bytes.IndexByte(b, '\n') >= 0 {
							bad = fmt.Sprintf("%s %s is empty or holds a space or newline", fld, quote(b))
						}
						vals[p] = append(vals[p][:0], b...)
					default:
						bad = fmt.Sprintf("%s has parquet type %s, want INT32, INT64 or STRING", fld, v.Kind())
					}
				}
				line = line[:0]
				for i, v := range vals {
					if i > 0 {
						line = append(line, ' ')
					}
					line = append(line, v...)
				}
				d.stats.Lines++
				if bad != "" {
					if err := d.rejectLine(d.stats.Lines, line, bad); err != nil {
						rr.Close()
						return err
					}
					continue
				}
				if reason := d.record(line, d.stats.Lines); reason != "" {
					if err := d.rejectLine(d.stats.Lines, line, reason); err != nil {
						rr.Close()
						return err
					}
					continue
				}
				if d.batch.Len >= d.opts.BatchSize {
					if err := d.flush(); err != nil {
						rr.Close()
						return err
					}
				}
			}
			if rerr != nil {
				rr.Close()
				if errors.Is(rerr, io.EOF) {
					break
				}
				if ferr := d.flush(); ferr != nil {
					return ferr
				}
				return fmt.Errorf("cannot read parquet object %s row %d: %w", d.opts.Object, d.stats.Lines+1, rerr)
			}
		}
	}
	return d.flush()
}
