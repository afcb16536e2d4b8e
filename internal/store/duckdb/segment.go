package duckdb

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"

	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/store"
	"github.com/flowhunt/flowhunt/internal/store/pqwrite"
)

// Segment encoding, chosen by measurement (docs/storage.md): dictionary
// pages for strings, snappy pages, DuckDB-sized row groups.
var (
	rowGroupRows = 122880
	// maxBufferedRows bounds the rows a worker holds in the open row
	// groups of all its segments (one per day and layout): past it, the
	// segment holding the most writes its row group early. It keeps an
	// ingest's memory independent of how many days and layouts its
	// objects mix (each buffered row costs about 200 bytes).
	maxBufferedRows = 3 * rowGroupRows
	// rejectCodec compresses the rejects files parquet-go writes.
	rejectCodec compress.Codec = &snappy.Codec{}
)

// derived is store.Derived, the derived columns every backend computes
// alike, plus the timestamps in the microseconds the segments' TIMESTAMP
// columns hold.
type derived struct {
	store.Derived
	usStart, usEnd []int64
	pkt4           []uint32 // scratch of packetAddr
	pkt4ok         []bool
}

// packetAddr returns the IPv4 addresses of pkt-srcaddr or pkt-dstaddr (f)
// as the decoder parsed them, and where they are IPv4; without parsed
// values (another decoder), it says no row is, and the writer looks the
// text up in the dictionary as it is.
func (d *derived) packetAddr(b *flowlog.Batch, f flowlog.Field) ([]uint32, []bool) {
	d.pkt4, d.pkt4ok = grow(d.pkt4, b.Len), grow(d.pkt4ok, b.Len)
	if len(b.Addr4[f]) != b.Len {
		clear(d.pkt4ok)
		return d.pkt4, d.pkt4ok
	}
	for i, a := range b.Addr4[f][:b.Len] {
		d.pkt4[i], d.pkt4ok[i] = uint32(a), a&flowlog.Is4Addr != 0
	}
	return d.pkt4, d.pkt4ok
}

// compute fills d for batch b. fallbackDay is the partition of records
// without a start time (the object's own time, else the epoch).
func (d *derived) compute(b *flowlog.Batch, nets *store.Networks, fallbackDay int32) {
	d.Compute(b, nets, fallbackDay)
	d.usStart = micros(d.usStart, d.TsStart)
	d.usEnd = micros(d.usEnd, d.TsEnd)
}

// micros returns the seconds of secs as microseconds, reusing dst.
func micros(dst, secs []int64) []int64 {
	dst = grow(dst, len(secs))
	for i, v := range secs {
		dst[i] = v * 1e6
	}
	return dst
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// segCol is one column of a segment file.
type segCol struct {
	name  string
	field flowlog.Field // AWS field, when aws
	aws   bool
	null  bool // NULL in every row: the records lack the field
}

// flowSegment is a flow segment file being written.
type flowSegment struct {
	seg  Segment
	path string
	f    *os.File
	bw   *bufio.Writer
	w    *pqwrite.Writer
	cols []segCol
	objs map[string]bool
}

func isEnrichColumn(name string) bool {
	for _, n := range store.EnrichColumns {
		if n == name {
			return true
		}
	}
	return false
}

// segmentColumns returns the columns of a segment whose records carry the
// fields in mask: every flow column, in store.FlowColumns order; the AWS
// fields outside mask, and the enrichment columns when the ingest does not
// enrich, are NULL columns (definition levels only, a few bytes a row
// group). Every segment thus has the same columns, which lets the reader
// scan them all as one schema instead of unifying them by name at every
// query (docs/storage.md).
func segmentColumns(mask uint64, enriched bool) ([]pqwrite.Column, []segCol) {
	var pcs []pqwrite.Column
	var scs []segCol
	for _, c := range store.FlowColumns() {
		null := c.AWS && mask&(1<<c.Field) == 0 || !enriched && isEnrichColumn(c.Name)
		pc := pqwrite.Column{Name: c.Name, Optional: true, Null: null}
		switch c.Type {
		case "INTEGER":
			pc.Type = pqwrite.Int32
		case "BIGINT":
			pc.Type = pqwrite.Int64
		case "VARCHAR":
			pc.Type = pqwrite.String
		case "DATE":
			pc.Type, pc.Optional = pqwrite.Date, false
		case "TIMESTAMP":
			pc.Type = pqwrite.Timestamp
		case "UINTEGER":
			pc.Type = pqwrite.Uint32
		case "BLOB":
			pc.Type = pqwrite.Bytes
		default:
			panic("BUG: no Parquet type for column type " + c.Type)
		}
		switch c.Name {
		case store.ColSourceObject, store.ColIngestBatch, store.ColSourceLine:
			pc.Optional = false
		}
		pcs = append(pcs, pc)
		scs = append(scs, segCol{name: c.Name, field: c.Field, aws: c.AWS, null: null})
	}
	return pcs, scs
}

func newFlowSegment(dir, rel string, mask uint64, enriched bool, codec pqwrite.Codec, date, batch string) (*flowSegment, error) {
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create segment %s: %w", rel, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot create segment %s: %w", rel, err)
	}
	pcs, scs := segmentColumns(mask, enriched)
	names := make([]string, len(scs))
	for i, c := range scs {
		names[i] = c.name
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	return &flowSegment{
		seg:  Segment{Path: rel, Kind: KindFlows, Date: date, Columns: names, Batch: batch},
		path: path,
		f:    f,
		bw:   bw,
		w:    pqwrite.NewWriter(bw, pcs, pqwrite.Options{Codec: codec, RowGroupRows: rowGroupRows, DeltaInt64: true}),
		cols: scs,
		objs: map[string]bool{},
	}, nil
}

var directionNames = [][]byte{[]byte(store.Directions[0]), []byte(store.Directions[1]), []byte(store.Directions[2]), []byte(store.Directions[3])}

// write appends rows idx of b (all rows when idx is nil), column by column
// from the decoder's typed columns.
func (s *flowSegment) write(b *flowlog.Batch, d *derived, x *enrichment, idx []int32, object, batch string) error {
	n := b.Len
	if idx != nil {
		n = len(idx)
	}
	w := s.w
	for ci, c := range s.cols {
		if c.null {
			continue
		}
		if c.aws {
			f := c.field
			switch f.Kind() {
			case flowlog.KindInt32, flowlog.KindInt64:
				pqwrite.Ints(w, ci, b.Int[f], b.Null[f], true, idx, n)
			default:
				switch f {
				case flowlog.SrcAddr: // parsed already for src_ip4
					w.PackedIPv4(ci, b.Str[f].Buf, b.Str[f].End, b.Null[f], d.Src4, d.Has4s, idx, n)
				case flowlog.DstAddr:
					w.PackedIPv4(ci, b.Str[f].Buf, b.Str[f].End, b.Null[f], d.Dst4, d.Has4d, idx, n)
				case flowlog.PktSrcAddr, flowlog.PktDstAddr:
					v4, is4 := d.packetAddr(b, f)
					w.PackedIPv4(ci, b.Str[f].Buf, b.Str[f].End, b.Null[f], v4, is4, idx, n)
				default:
					w.Packed(ci, b.Str[f].Buf, b.Str[f].End, b.Null[f], idx, n)
				}
			}
			continue
		}
		switch c.name {
		case store.ColDate:
			pqwrite.Ints(w, ci, d.Date, nil, false, idx, n)
		case store.ColTsStart:
			pqwrite.Ints(w, ci, d.usStart, d.HasStart, false, idx, n)
		case store.ColTsEnd:
			pqwrite.Ints(w, ci, d.usEnd, d.HasEnd, false, idx, n)
		case store.ColSrcIP4:
			pqwrite.Ints(w, ci, d.Src4, d.Has4s, false, idx, n)
		case store.ColDstIP4:
			pqwrite.Ints(w, ci, d.Dst4, d.Has4d, false, idx, n)
		case store.ColSrcIP6:
			w.Strings(ci, func(i int) []byte { return d.Src6[i][:] }, d.Has6s, false, idx, n)
		case store.ColDstIP6:
			w.Strings(ci, func(i int) []byte { return d.Dst6[i][:] }, d.Has6d, false, idx, n)
		case store.ColDirection:
			w.Enum(ci, directionNames, d.Dir, idx, n)
		case store.ColSourceObject:
			w.Repeat(ci, []byte(object), n)
		case store.ColSourceLine:
			pqwrite.Ints(w, ci, b.Line, nil, false, idx, n)
		case store.ColIngestBatch:
			w.Repeat(ci, []byte(batch), n)
		case store.ColSrcCountry:
			w.Texts(ci, x.srcCountry, idx, n)
		case store.ColDstCountry:
			w.Texts(ci, x.dstCountry, idx, n)
		case store.ColSrcASN:
			pqwrite.Ints(w, ci, x.srcASN, x.hasSrcASN, false, idx, n)
		case store.ColDstASN:
			pqwrite.Ints(w, ci, x.dstASN, x.hasDstASN, false, idx, n)
		case store.ColIntelList:
			w.Texts(ci, x.intel, idx, n)
		default:
			panic("BUG: no writer for derived column " + c.name)
		}
	}
	s.seg.Rows += int64(n)
	s.objs[object] = true
	if err := w.Advance(n); err != nil {
		return fmt.Errorf("cannot write segment %s: %w", s.seg.Path, err)
	}
	return nil
}

// close finishes the file and makes it durable; the segment is not live
// until a manifest lists it.
func (s *flowSegment) close() (Segment, error) {
	err := s.w.Close()
	if err == nil {
		err = s.bw.Flush()
	}
	if err != nil {
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
		w:    parquet.NewGenericWriter[rejectRow](f, parquet.Compression(rejectCodec)),
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
