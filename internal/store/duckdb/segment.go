package duckdb

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"

	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/store"
)

// Segment encoding, chosen by measurement (docs/storage.md): dictionary
// pages for strings, snappy pages, big row groups.
var (
	segmentCodec compress.Codec = &snappy.Codec{}
	rowGroupRows int64          = 256 << 10
)

// derived holds the derived columns of one batch, computed once in Go.
type derived struct {
	date           []int32 // days since 1970-01-01
	tsStart, tsEnd []int64 // microseconds; valid when hasStart/hasEnd
	hasStart       []bool
	hasEnd         []bool
	src4, dst4     []uint32
	has4s, has4d   []bool
	src6, dst6     [][16]byte
	has6s, has6d   []bool
	dir            []int8 // index into directions, -1 for NULL
}

var directions = [...]string{store.DirInbound, store.DirOutbound, store.DirInternal, store.DirExternal}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// compute fills d for batch b. fallbackDay is the partition of records
// without a start time (the object's own time, else the epoch).
func (d *derived) compute(b *flowlog.Batch, nets *networks, fallbackDay int32) {
	n := b.Len
	d.date = grow(d.date, n)
	d.tsStart, d.tsEnd = grow(d.tsStart, n), grow(d.tsEnd, n)
	d.hasStart, d.hasEnd = grow(d.hasStart, n), grow(d.hasEnd, n)
	d.src4, d.dst4 = grow(d.src4, n), grow(d.dst4, n)
	d.has4s, d.has4d = grow(d.has4s, n), grow(d.has4d, n)
	d.src6, d.dst6 = grow(d.src6, n), grow(d.dst6, n)
	d.has6s, d.has6d = grow(d.has6s, n), grow(d.has6d, n)
	d.dir = grow(d.dir, n)
	hasStart, hasEnd := b.Has(flowlog.Start), b.Has(flowlog.End)
	hasSrc, hasDst := b.Has(flowlog.SrcAddr), b.Has(flowlog.DstAddr)
	for i := 0; i < n; i++ {
		d.date[i] = fallbackDay
		d.hasStart[i] = hasStart && !b.Null[flowlog.Start][i]
		if d.hasStart[i] {
			s := b.Int[flowlog.Start][i]
			d.tsStart[i] = s * 1e6
			d.date[i] = int32(floorDiv(s, 86400))
		}
		d.hasEnd[i] = hasEnd && !b.Null[flowlog.End][i]
		if d.hasEnd[i] {
			d.tsEnd[i] = b.Int[flowlog.End][i] * 1e6
			if !d.hasStart[i] {
				d.date[i] = int32(floorDiv(b.Int[flowlog.End][i], 86400))
			}
		}
		var sIn, dIn, sOK, dOK bool
		d.has4s[i], d.has6s[i] = false, false
		if hasSrc && !b.Null[flowlog.SrcAddr][i] {
			sIn, sOK = d.addr(b.Str[flowlog.SrcAddr].Get(i), nets, &d.src4[i], &d.has4s[i], &d.src6[i], &d.has6s[i])
		}
		d.has4d[i], d.has6d[i] = false, false
		if hasDst && !b.Null[flowlog.DstAddr][i] {
			dIn, dOK = d.addr(b.Str[flowlog.DstAddr].Get(i), nets, &d.dst4[i], &d.has4d[i], &d.dst6[i], &d.has6d[i])
		}
		switch {
		case !sOK || !dOK:
			d.dir[i] = -1
		case !sIn && dIn:
			d.dir[i] = 0
		case sIn && !dIn:
			d.dir[i] = 1
		case sIn && dIn:
			d.dir[i] = 2
		default:
			d.dir[i] = 3
		}
	}
}

// addr parses one address into its numeric column and says whether it is
// internal; ok is false for text that is no address.
func (d *derived) addr(text []byte, nets *networks, v4 *uint32, has4 *bool, v6 *[16]byte, has6 *bool) (internal, ok bool) {
	if ip, ok := flowlog.ParseIPv4(text); ok {
		*v4, *has4 = ip, true
		return nets.has4(ip), true
	}
	a16, ok := flowlog.ParseIP16(text)
	if !ok {
		return false, false
	}
	*v6, *has6 = a16, true
	return nets.has6(netipFrom16(a16)), true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// segCol is one column of a segment file.
type segCol struct {
	name  string
	index int           // leaf column index in the Parquet schema
	field flowlog.Field // AWS field, when aws
	aws   bool
}

// flowSegment is a flow segment file being written.
type flowSegment struct {
	seg    Segment
	path   string
	f      *os.File
	w      *parquet.Writer
	cols   []segCol
	byName map[string]int // index into cols
	rg     int64          // rows in the open row group
	objs   map[string]bool
}

// flowSchema returns the Parquet schema of a segment whose records carry
// the fields in mask: those AWS columns and every derived column.
func flowSchema(mask uint64) (*parquet.Schema, []string) {
	g := parquet.Group{}
	var names []string
	for _, c := range store.FlowColumns() {
		if c.AWS && mask&(1<<c.Field) == 0 {
			continue
		}
		names = append(names, c.Name)
		var n parquet.Node
		switch c.Type {
		case "INTEGER":
			n = parquet.Optional(parquet.Int(32))
		case "BIGINT":
			n = parquet.Optional(parquet.Int(64))
		case "VARCHAR":
			n = parquet.Optional(parquet.Encoded(parquet.String(), &parquet.RLEDictionary))
		case "DATE":
			n = parquet.Date()
		case "TIMESTAMP":
			n = parquet.Optional(parquet.TimestampAdjusted(parquet.Microsecond, false))
		case "UINTEGER":
			n = parquet.Optional(parquet.Uint(32))
		case "BLOB":
			n = parquet.Optional(parquet.Leaf(parquet.ByteArrayType))
		default:
			panic("BUG: no Parquet type for column type " + c.Type)
		}
		switch c.Name {
		case store.ColSourceObject, store.ColIngestBatch:
			n = parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
		case store.ColSourceLine:
			n = parquet.Int(64)
		}
		g[c.Name] = n
	}
	return parquet.NewSchema("vpc_flow_logs", g), names
}

func newFlowSegment(dir, rel string, mask uint64, date, batch string) (*flowSegment, error) {
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create segment %s: %w", rel, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot create segment %s: %w", rel, err)
	}
	schema, names := flowSchema(mask)
	// Page bounds (the column index) cost a min/max per page; DuckDB prunes
	// with row group statistics, which are still written.
	opts := []parquet.WriterOption{schema, parquet.Compression(segmentCodec), parquet.CreatedBy("flowhunt", "1", ""),
		parquet.PageBufferSize(1 << 20), parquet.WriteBufferSize(1 << 20)}
	for _, n := range names {
		opts = append(opts, parquet.SkipPageBounds(n))
	}
	w := parquet.NewWriter(f, opts...)
	s := &flowSegment{
		seg:    Segment{Path: rel, Kind: KindFlows, Date: date, Columns: names, Batch: batch},
		path:   path,
		f:      f,
		w:      w,
		byName: map[string]int{},
		objs:   map[string]bool{},
	}
	for _, c := range store.FlowColumns() {
		if c.AWS && mask&(1<<c.Field) == 0 {
			continue
		}
		leaf, ok := schema.Lookup(c.Name)
		if !ok {
			panic("BUG: column missing from segment schema: " + c.Name)
		}
		s.byName[c.Name] = len(s.cols)
		s.cols = append(s.cols, segCol{name: c.Name, index: leaf.ColumnIndex, field: c.Field, aws: c.AWS})
	}
	return s, nil
}

// write appends rows idx of b (all rows when idx is nil).
func (s *flowSegment) write(b *flowlog.Batch, d *derived, idx []int32, object, batch string, vals []parquet.Value) ([]parquet.Value, error) {
	if idx == nil {
		idx = identity(b.Len)
	}
	n := len(idx)
	row := idx
	vals = grow(vals, n)
	cws := s.w.ColumnWriters()
	for _, c := range s.cols {
		ci := c.index
		if c.aws {
			f := c.field
			null := b.Null[f]
			switch f.Kind() {
			case flowlog.KindInt32:
				col := b.Int[f]
				for k := 0; k < n; k++ {
					i := int(row[k])
					if null[i] {
						vals[k] = parquet.Value{}.Level(0, 0, ci)
					} else {
						vals[k] = parquet.Int32Value(int32(col[i])).Level(0, 1, ci)
					}
				}
			case flowlog.KindInt64:
				col := b.Int[f]
				for k := 0; k < n; k++ {
					i := int(row[k])
					if null[i] {
						vals[k] = parquet.Value{}.Level(0, 0, ci)
					} else {
						vals[k] = parquet.Int64Value(col[i]).Level(0, 1, ci)
					}
				}
			default:
				col := &b.Str[f]
				for k := 0; k < n; k++ {
					i := int(row[k])
					if null[i] {
						vals[k] = parquet.Value{}.Level(0, 0, ci)
					} else {
						vals[k] = parquet.ByteArrayValue(col.Get(i)).Level(0, 1, ci)
					}
				}
			}
		} else {
			switch c.name {
			case store.ColDate:
				for k := 0; k < n; k++ {
					vals[k] = parquet.Int32Value(d.date[row[k]]).Level(0, 0, ci)
				}
			case store.ColTsStart:
				optInt64(vals, n, row, d.tsStart, d.hasStart, ci)
			case store.ColTsEnd:
				optInt64(vals, n, row, d.tsEnd, d.hasEnd, ci)
			case store.ColSrcIP4:
				optUint32(vals, n, row, d.src4, d.has4s, ci)
			case store.ColDstIP4:
				optUint32(vals, n, row, d.dst4, d.has4d, ci)
			case store.ColSrcIP6:
				optBytes16(vals, n, row, d.src6, d.has6s, ci)
			case store.ColDstIP6:
				optBytes16(vals, n, row, d.dst6, d.has6d, ci)
			case store.ColDirection:
				for k := 0; k < n; k++ {
					if x := d.dir[row[k]]; x < 0 {
						vals[k] = parquet.Value{}.Level(0, 0, ci)
					} else {
						vals[k] = parquet.ByteArrayValue([]byte(directions[x])).Level(0, 1, ci)
					}
				}
			case store.ColSourceObject:
				v := parquet.ByteArrayValue([]byte(object)).Level(0, 0, ci)
				for k := 0; k < n; k++ {
					vals[k] = v
				}
			case store.ColSourceLine:
				for k := 0; k < n; k++ {
					vals[k] = parquet.Int64Value(b.Line[row[k]]).Level(0, 0, ci)
				}
			case store.ColIngestBatch:
				v := parquet.ByteArrayValue([]byte(batch)).Level(0, 0, ci)
				for k := 0; k < n; k++ {
					vals[k] = v
				}
			default:
				panic("BUG: no writer for derived column " + c.name)
			}
		}
		if _, err := cws[ci].WriteRowValues(vals[:n]); err != nil {
			return vals, fmt.Errorf("cannot write segment %s column %s: %w", s.seg.Path, c.name, err)
		}
	}
	s.seg.Rows += int64(n)
	s.rg += int64(n)
	s.objs[object] = true
	if s.rg >= rowGroupRows {
		s.rg = 0
		if err := s.w.Flush(); err != nil {
			return vals, fmt.Errorf("cannot write segment %s: %w", s.seg.Path, err)
		}
	}
	return vals, nil
}

func optInt64(vals []parquet.Value, n int, row []int32, col []int64, has []bool, ci int) {
	for k := 0; k < n; k++ {
		i := int(row[k])
		if has[i] {
			vals[k] = parquet.Int64Value(col[i]).Level(0, 1, ci)
		} else {
			vals[k] = parquet.Value{}.Level(0, 0, ci)
		}
	}
}

func optUint32(vals []parquet.Value, n int, row []int32, col []uint32, has []bool, ci int) {
	for k := 0; k < n; k++ {
		i := int(row[k])
		if has[i] {
			vals[k] = parquet.Int32Value(int32(col[i])).Level(0, 1, ci)
		} else {
			vals[k] = parquet.Value{}.Level(0, 0, ci)
		}
	}
}

func optBytes16(vals []parquet.Value, n int, row []int32, col [][16]byte, has []bool, ci int) {
	for k := 0; k < n; k++ {
		i := int(row[k])
		if has[i] {
			vals[k] = parquet.ByteArrayValue(col[i][:]).Level(0, 1, ci)
		} else {
			vals[k] = parquet.Value{}.Level(0, 0, ci)
		}
	}
}

// close finishes the file and makes it durable; the segment is not live
// until a manifest lists it.
func (s *flowSegment) close() (Segment, error) {
	if err := s.w.Close(); err != nil {
		s.f.Close()
		return Segment{}, fmt.Errorf("cannot write segment %s: %w", s.seg.Path, err)
	}
	return finishFile(s.f, s.seg, s.objs)
}

// abort removes a segment that will never be committed.
func (s *flowSegment) abort() {
	s.f.Close()
	os.Remove(s.path)
}

func finishFile(f *os.File, seg Segment, objs map[string]bool) (Segment, error) {
	if err := f.Sync(); err != nil {
		f.Close()
		return Segment{}, fmt.Errorf("cannot sync segment %s: %w", seg.Path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return Segment{}, fmt.Errorf("cannot stat segment %s: %w", seg.Path, err)
	}
	seg.Bytes = st.Size()
	if err := f.Close(); err != nil {
		return Segment{}, fmt.Errorf("cannot close segment %s: %w", seg.Path, err)
	}
	for o := range objs {
		seg.Objects = append(seg.Objects, o)
	}
	sort.Strings(seg.Objects)
	return seg, nil
}

// rejectSegment is a file of rejected lines being written.
type rejectSegment struct {
	seg  Segment
	path string
	f    *os.File
	w    *parquet.GenericWriter[rejectRow]
	buf  []rejectRow
	objs map[string]bool
}

// rejectRow is one row of the rejects table.
type rejectRow struct {
	Object      string `parquet:"object,dict"`
	Line        int64  `parquet:"line"`
	Reason      string `parquet:"reason,dict"`
	Text        string `parquet:"text"`
	IngestBatch string `parquet:"ingest_batch,dict"`
}

func newRejectSegment(dir, rel, batch string) (*rejectSegment, error) {
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create segment %s: %w", rel, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot create segment %s: %w", rel, err)
	}
	return &rejectSegment{
		seg:  Segment{Path: rel, Kind: KindRejects, Batch: batch},
		path: path,
		f:    f,
		w:    parquet.NewGenericWriter[rejectRow](f, parquet.Compression(segmentCodec)),
		objs: map[string]bool{},
	}, nil
}

func (s *rejectSegment) add(r rejectRow) error {
	s.buf = append(s.buf, r)
	s.objs[r.Object] = true
	s.seg.Rows++
	if len(s.buf) >= 4096 {
		return s.flush()
	}
	return nil
}

func (s *rejectSegment) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	if _, err := s.w.Write(s.buf); err != nil {
		return fmt.Errorf("cannot write segment %s: %w", s.seg.Path, err)
	}
	s.buf = s.buf[:0]
	return nil
}

func (s *rejectSegment) close() (Segment, error) {
	if err := s.flush(); err != nil {
		s.f.Close()
		return Segment{}, err
	}
	if err := s.w.Close(); err != nil {
		s.f.Close()
		return Segment{}, fmt.Errorf("cannot write segment %s: %w", s.seg.Path, err)
	}
	return finishFile(s.f, s.seg, s.objs)
}

func (s *rejectSegment) abort() {
	s.f.Close()
	os.Remove(s.path)
}

var identityIdx []int32

// identity returns [0, 1, …, n-1]; workers only read it.
func identity(n int) []int32 {
	if n <= len(identityIdx) {
		return identityIdx[:n]
	}
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(i)
	}
	return s
}

func init() {
	identityIdx = make([]int32, 1<<16)
	for i := range identityIdx {
		identityIdx[i] = int32(i)
	}
}
