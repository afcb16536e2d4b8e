// Package pqwrite writes flat Parquet files column by column straight from
// typed slices — no value object per cell, no reflection — for the ingest's
// hot path. It supports what flow segments need: optional or required
// INT32/INT64 columns (with DATE, TIMESTAMP and UINT_32 annotations),
// dictionary-encoded strings, plain byte arrays, row-group statistics, and
// snappy or zstd pages.
package pqwrite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"math/bits"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Type is a column's type as DuckDB reads it.
type Type uint8

const (
	Int32     Type = iota // INTEGER
	Int64                 // BIGINT
	Uint32                // UINTEGER (INT32 annotated unsigned)
	Date                  // DATE (days since 1970-01-01)
	Timestamp             // TIMESTAMP (microseconds, not adjusted to UTC)
	String                // VARCHAR, dictionary encoded
	Bytes                 // BLOB, plain
)

// Column describes one column.
type Column struct {
	Name     string
	Type     Type
	Optional bool
	// Null marks an Optional column that is NULL in every row: it takes no
	// values (Advance counts its rows) and each chunk is one page of
	// definition levels, a few bytes whatever the row count. It lets files
	// of records that lack a field keep the same columns as the rest.
	Null bool
}

// Codec compresses pages.
type Codec uint8

const (
	Uncompressed Codec = iota
	Snappy
	Zstd
)

// ParseCodec maps "snappy", "zstd", "none" (or "") to a Codec.
func ParseCodec(s string) (Codec, error) {
	switch s {
	case "snappy":
		return Snappy, nil
	case "zstd":
		return Zstd, nil
	case "none", "uncompressed", "":
		return Uncompressed, nil
	}
	return 0, fmt.Errorf("cannot use Parquet codec %q: want snappy, zstd or none", s)
}

// Options tune a Writer.
type Options struct {
	Codec        Codec
	RowGroupRows int    // rows per row group; default 122880 (DuckDB's own)
	CreatedBy    string // default "flowhunt"
	// RawStrings leaves String (dictionary) columns uncompressed whatever
	// Codec says: their keys are bit-packed already, and scans that filter
	// on them then skip decompression.
	RawStrings bool
	// DeltaInt64 writes Int64 and Timestamp columns DELTA_BINARY_PACKED
	// instead of PLAIN: times and line numbers that grow slowly take a few
	// bits per value instead of 64.
	DeltaInt64 bool
}

// codecOf is the codec of column c's chunks.
func (w *Writer) codecOf(c *column) Codec {
	if c.Type == String && w.opts.RawStrings {
		return Uncompressed
	}
	return w.opts.Codec
}

// Writer writes one Parquet file. Append values to every column, then call
// Advance with the number of rows appended; Close writes the footer.
type Writer struct {
	w        io.Writer
	off      int64
	opts     Options
	cols     []*column
	rows     int // rows in the open row group
	total    int64
	groups   []rowGroup
	err      error
	buf      []byte  // page body scratch
	comp     []byte  // compressed scratch
	dictPage []byte  // dictionary page scratch
	dict32   []int32 // small dictionary of a 32-bit column chunk
	keys32   []int32 // its keys
	deltas   [128]uint64
	hdr      thrift
}

type rowGroup struct {
	rows, bytes int64
	chunks      []chunk
}

type chunk struct {
	start, dataOff, dictOff int64
	values                  int64
	uncompressed, size      int64
	nulls                   int64
	min, max                []byte
	hasStats                bool
	dict                    bool
}

type column struct {
	Column
	defs  []byte // per row: 1 value, 0 null (optional columns)
	nulls int
	i32   []int32
	i64   []int64
	plain []byte // Bytes: PLAIN-encoded values
	// String: dictionary of the open row group.
	dict    dictIndex
	dict4   dictIndex4 // IPv4 addresses of dict's values, see PackedIPv4
	dictBuf []byte
	dictEnd []uint32
	keys    []int32
	last    int32 // key of the last value appended, -1 none
	prev    int32 // key of the last different value before it, -1 none
	bmin    []byte
	bmax    []byte
	hasB    bool
}

// NewWriter starts a file on w.
func NewWriter(w io.Writer, cols []Column, opts Options) *Writer {
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = 122880
	}
	if opts.CreatedBy == "" {
		opts.CreatedBy = "flowhunt"
	}
	wr := &Writer{w: w, opts: opts}
	for _, c := range cols {
		if c.Null && !c.Optional {
			panic("BUG: NULL column " + c.Name + " is not optional")
		}
		col := &column{Column: c, last: -1, prev: -1}
		col.reuse()
		wr.cols = append(wr.cols, col)
	}
	wr.write([]byte("PAR1"))
	return wr
}

func (w *Writer) write(p []byte) {
	if w.err != nil {
		return
	}
	n, err := w.w.Write(p)
	w.off += int64(n)
	w.err = err
}

// Rows returns the number of rows written so far.
func (w *Writer) Rows() int64 { return w.total + int64(w.rows) }

// Ints appends values vals[idx[k]] (vals[k] when idx is nil) to an integer
// column (Int32, Int64, Uint32, Date, Timestamp). Value i is NULL when
// mask[i] == nullWhen; a nil mask means no NULLs.
func Ints[T int32 | int64 | uint32](w *Writer, col int, vals []T, mask []bool, nullWhen bool, idx []int32, n int) {
	c := w.cols[col]
	if c.Type == Int64 || c.Type == Timestamp {
		c.i64 = appendInts(c, c.i64, vals, mask, nullWhen, idx, n, func(v T) int64 { return int64(v) })
	} else {
		c.i32 = appendInts(c, c.i32, vals, mask, nullWhen, idx, n, func(v T) int32 { return int32(v) })
	}
}

func appendInts[T int32 | int64 | uint32, D int32 | int64](c *column, dst []D, vals []T, mask []bool, nullWhen bool, idx []int32, n int, conv func(T) D) []D {
	if mask == nil {
		if idx == nil {
			for _, v := range vals[:n] {
				dst = append(dst, conv(v))
			}
		} else {
			for _, i := range idx[:n] {
				dst = append(dst, conv(vals[i]))
			}
		}
		if c.Optional {
			c.defs = appendOnes(c.defs, n)
		}
		return dst
	}
	for k := 0; k < n; k++ {
		i := k
		if idx != nil {
			i = int(idx[k])
		}
		if mask[i] == nullWhen {
			c.defs = append(c.defs, 0)
			c.nulls++
			continue
		}
		dst = append(dst, conv(vals[i]))
		c.defs = append(c.defs, 1)
	}
	return dst
}

func appendOnes(d []byte, n int) []byte {
	for ; n > 0; n-- {
		d = append(d, 1)
	}
	return d
}

// Strings appends value get(i) for i = idx[k] (k when idx is nil) to a
// String or Bytes column; value i is NULL when mask[i] == nullWhen (a nil
// mask: no NULLs).
func (w *Writer) Strings(col int, get func(i int) []byte, mask []bool, nullWhen bool, idx []int32, n int) {
	c := w.cols[col]
	for k := 0; k < n; k++ {
		i := k
		if idx != nil {
			i = int(idx[k])
		}
		if mask != nil && mask[i] == nullWhen {
			c.defs = append(c.defs, 0)
			c.nulls++
			continue
		}
		if c.Optional {
			c.defs = append(c.defs, 1)
		}
		c.add(get(i))
	}
}

// Texts appends vals[idx[k]] (vals[k] when idx is nil) to a String or
// Bytes column; "" is NULL.
func (w *Writer) Texts(col int, vals []string, idx []int32, n int) {
	c := w.cols[col]
	for k := 0; k < n; k++ {
		i := k
		if idx != nil {
			i = int(idx[k])
		}
		v := vals[i]
		if v == "" {
			c.defs = append(c.defs, 0)
			c.nulls++
			continue
		}
		if c.Optional {
			c.defs = append(c.defs, 1)
		}
		// A view of the string's bytes, not a copy: add only reads it.
		c.add(unsafe.Slice(unsafe.StringData(v), len(v)))
	}
}

// Enum appends names[vals[i]] for i = idx[k] (k when idx is nil) to a
// String column; a negative value is NULL.
func (w *Writer) Enum(col int, names [][]byte, vals []int8, idx []int32, n int) {
	c := w.cols[col]
	for k := 0; k < n; k++ {
		i := k
		if idx != nil {
			i = int(idx[k])
		}
		if vals[i] < 0 {
			c.defs = append(c.defs, 0)
			c.nulls++
			continue
		}
		if c.Optional {
			c.defs = append(c.defs, 1)
		}
		c.add(names[vals[i]])
	}
}

// Packed appends values of a packed string column (Buf cut at End, the
// layout of flowlog.Strings) to a String or Bytes column.
func (w *Writer) Packed(col int, buf []byte, end []uint32, null []bool, idx []int32, n int) {
	c := w.cols[col]
	for k := 0; k < n; k++ {
		i := k
		if idx != nil {
			i = int(idx[k])
		}
		if null != nil && null[i] {
			c.defs = append(c.defs, 0)
			c.nulls++
			continue
		}
		if c.Optional {
			c.defs = append(c.defs, 1)
		}
		var s uint32
		if i > 0 {
			s = end[i-1]
		}
		c.add(buf[s:end[i]])
	}
}

// PackedIPv4 is Packed for a column of addresses some of which were parsed
// already: where is4[i], v4[i] is the IPv4 address whose canonical text is
// value i, and the dictionary is searched by that integer (a multiply and a
// compare) instead of by the text's bytes. The file is the same as Packed's.
func (w *Writer) PackedIPv4(col int, buf []byte, end []uint32, null []bool, v4 []uint32, is4 []bool, idx []int32, n int) {
	c := w.cols[col]
	if c.Type != String {
		w.Packed(col, buf, end, null, idx, n)
		return
	}
	for k := 0; k < n; k++ {
		i := k
		if idx != nil {
			i = int(idx[k])
		}
		if null != nil && null[i] {
			c.defs = append(c.defs, 0)
			c.nulls++
			continue
		}
		if c.Optional {
			c.defs = append(c.defs, 1)
		}
		var s uint32
		if i > 0 {
			s = end[i-1]
		}
		if !is4[i] {
			c.add(buf[s:end[i]])
			continue
		}
		key := c.dict4.find(c, v4[i], buf[s:end[i]])
		c.prev, c.last = c.last, key
		c.keys = append(c.keys, key)
	}
}

// dictIndex4 maps IPv4 addresses (as integers) to the keys of their text
// in a String column's dictionary, like dictIndex: a slot holds the
// address and key+1 (0: empty).
type dictIndex4 struct {
	slots []uint64
	n     int
}

// find returns the key of address ip, whose text is v, adding v to c's
// dictionary when it is not there.
func (d *dictIndex4) find(c *column, ip uint32, v []byte) int32 {
	if 2*(d.n+1) > len(d.slots) {
		d.grow()
	}
	shift := 64 - bits.Len(uint(len(d.slots)-1))
	for i := (uint64(ip) * 0x9E3779B97F4A7C15) >> shift; ; i = (i + 1) & uint64(len(d.slots)-1) {
		s := d.slots[i]
		if s == 0 {
			k := c.dict.find(c, v) // the text's key, added if new
			d.slots[i] = uint64(ip)<<32 | uint64(k+1)
			d.n++
			return k
		}
		if uint32(s>>32) == ip {
			return int32(uint32(s)) - 1
		}
	}
}

// grow doubles the table (at least 64 slots), re-inserting its entries.
func (d *dictIndex4) grow() {
	old := d.slots
	size := max(64, 2*len(old))
	d.slots = make([]uint64, size)
	shift := 64 - bits.Len(uint(size-1))
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := (uint64(s>>32) * 0x9E3779B97F4A7C15) >> shift
		for d.slots[i] != 0 {
			i = (i + 1) & uint64(size-1)
		}
		d.slots[i] = s
	}
}

func (d *dictIndex4) reset() {
	clear(d.slots)
	d.n = 0
}

// Repeat appends n copies of v (NULLs when v is nil) to a String or Bytes column.
func (w *Writer) Repeat(col int, v []byte, n int) {
	c := w.cols[col]
	if v == nil {
		for k := 0; k < n; k++ {
			c.defs = append(c.defs, 0)
		}
		c.nulls += n
		return
	}
	if c.Optional {
		c.defs = appendOnes(c.defs, n)
	}
	if c.Type != String {
		for k := 0; k < n; k++ {
			c.add(v)
		}
		return
	}
	c.add(v)
	for k := 1; k < n; k++ {
		c.keys = append(c.keys, c.last)
	}
}

func (c *column) add(v []byte) {
	if c.Type != String {
		c.plain = binary.LittleEndian.AppendUint32(c.plain, uint32(len(v)))
		c.plain = append(c.plain, v...)
		c.stat(v)
		return
	}
	// Flow logs repeat values (accounts, actions, statuses) and alternate
	// them (a flow's two directions: srcaddr A, B, A, B): the last two
	// distinct keys are tried before the index.
	if c.last >= 0 && string(c.entry(c.last)) == string(v) {
		c.keys = append(c.keys, c.last)
		return
	}
	var k int32
	if c.prev >= 0 && string(c.entry(c.prev)) == string(v) {
		k = c.prev
	} else {
		k = c.dict.find(c, v)
	}
	c.prev, c.last = c.last, k
	c.keys = append(c.keys, k)
}

// dictSeed seeds the dictionary hash; one per process is enough (the
// order of a dictionary does not depend on it).
var dictSeed = maphash.MakeSeed()

// dictIndex maps a String column's values to their dictionary keys: open
// addressing with linear probing over a power-of-two table kept at most
// half full. A slot holds the high 32 bits of the value's hash and key+1
// (0: empty), so most probes that miss never touch the value bytes.
type dictIndex struct {
	slots []uint64
	n     int
}

// find returns the key of v, adding v to c's dictionary when it is new.
func (d *dictIndex) find(c *column, v []byte) int32 {
	if 2*(d.n+1) > len(d.slots) {
		d.grow(c)
	}
	h := maphash.Bytes(dictSeed, v)
	tag := h >> 32
	mask := uint64(len(d.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := d.slots[i]
		if s == 0 {
			k := int32(len(c.dictEnd))
			c.dictBuf = append(c.dictBuf, v...)
			c.dictEnd = append(c.dictEnd, uint32(len(c.dictBuf)))
			d.slots[i] = tag<<32 | uint64(k+1)
			d.n++
			return k
		}
		if s>>32 == tag {
			if k := int32(uint32(s)) - 1; string(c.entry(k)) == string(v) {
				return k
			}
		}
	}
}

// grow doubles the table (at least 64 slots) and re-inserts c's entries.
func (d *dictIndex) grow(c *column) {
	size := max(64, 2*len(d.slots))
	d.slots = make([]uint64, size)
	mask := uint64(size - 1)
	for k := range c.dictEnd {
		h := maphash.Bytes(dictSeed, c.entry(int32(k)))
		i := h & mask
		for d.slots[i] != 0 {
			i = (i + 1) & mask
		}
		d.slots[i] = h>>32<<32 | uint64(k+1)
	}
}

// reset empties the index, keeping its table.
func (d *dictIndex) reset() {
	clear(d.slots)
	d.n = 0
}

func (c *column) entry(k int32) []byte {
	var s uint32
	if k > 0 {
		s = c.dictEnd[k-1]
	}
	return c.dictBuf[s:c.dictEnd[k]]
}

func (c *column) stat(v []byte) {
	if !c.hasB {
		c.bmin, c.bmax, c.hasB = append(c.bmin[:0], v...), append(c.bmax[:0], v...), true
		return
	}
	if string(v) < string(c.bmin) {
		c.bmin = append(c.bmin[:0], v...)
	}
	if string(v) > string(c.bmax) {
		c.bmax = append(c.bmax[:0], v...)
	}
}

// Advance declares that n rows were appended to every column; a full row
// group is written out.
func (w *Writer) Advance(n int) error {
	w.rows += n
	if w.rows >= w.opts.RowGroupRows {
		return w.Flush()
	}
	return w.err
}

// Buffered returns the rows of the open row group, held in memory until
// it is written.
func (w *Writer) Buffered() int { return w.rows }

// Flush writes the open row group (a short one when called early).
func (w *Writer) Flush() error {
	if w.err != nil || w.rows == 0 {
		return w.err
	}
	rg := rowGroup{rows: int64(w.rows)}
	for _, c := range w.cols {
		if c.Null {
			rg.bytes += w.flushNull(c, &rg)
			continue
		}
		if got := c.len(); got != w.rows {
			panic(fmt.Sprintf("BUG: column %s has %d rows, want %d", c.Name, got, w.rows))
		}
		ch := w.flushColumn(c)
		rg.bytes += ch.uncompressed
		rg.chunks = append(rg.chunks, ch)
	}
	w.groups = append(w.groups, rg)
	w.total += int64(w.rows)
	w.rows = 0
	return w.err
}

// flushNull writes the chunk of a NULL column: a data page whose
// definition levels are one RLE run of zeros and which holds no values.
func (w *Writer) flushNull(c *column, rg *rowGroup) int64 {
	ch := chunk{start: w.off, values: int64(w.rows), nulls: int64(w.rows)}
	body := append(w.buf[:0], 0, 0, 0, 0)
	body = appendRLE(body, 0, w.rows, 1)
	binary.LittleEndian.PutUint32(body[0:4], uint32(len(body)-4))
	ch.dataOff = w.off
	ch.uncompressed, ch.size = w.page(w.codecOf(c), 0, body, w.rows, 0)
	w.buf = body
	rg.chunks = append(rg.chunks, ch)
	return ch.uncompressed
}

func (c *column) len() int {
	if c.Optional {
		return len(c.defs)
	}
	switch c.Type {
	case String:
		return len(c.keys)
	case Int64, Timestamp:
		return len(c.i64)
	case Bytes:
		// Required byte arrays are not used by flowhunt; count via defs.
		panic("BUG: required Bytes column " + c.Name)
	default:
		return len(c.i32)
	}
}

func (w *Writer) flushColumn(c *column) chunk {
	ch := chunk{start: w.off, values: int64(w.rows), nulls: int64(c.nulls)}
	// Page body: definition levels, then values.
	body := w.buf[:0]
	if c.Optional {
		body = append(body, 0, 0, 0, 0)
		if c.nulls == 0 {
			body = appendRLE(body, 1, len(c.defs), 1)
		} else {
			body = appendHybrid(body, c.defs, 1)
		}
		binary.LittleEndian.PutUint32(body[0:4], uint32(len(body)-4))
	}
	encoding := int32(0) // PLAIN
	switch c.Type {
	case Int64, Timestamp:
		if w.opts.DeltaInt64 {
			encoding = 5 // DELTA_BINARY_PACKED
			body = w.appendDelta(body, c.i64)
		} else {
			for _, v := range c.i64 {
				body = binary.LittleEndian.AppendUint64(body, uint64(v))
			}
		}
		if len(c.i64) > 0 {
			lo, hi := c.i64[0], c.i64[0]
			for _, v := range c.i64 {
				lo, hi = min(lo, v), max(hi, v)
			}
			ch.min = binary.LittleEndian.AppendUint64(nil, uint64(lo))
			ch.max = binary.LittleEndian.AppendUint64(nil, uint64(hi))
			ch.hasStats = true
		}
	case Int32, Date, Uint32:
		if keys, ok := w.smallDict(c.i32); ok {
			// Few distinct values (version, protocol, tcp_flags, the
			// date): a dictionary page and bit-packed keys instead of
			// four bytes a value.
			dict := w.dictPage[:0]
			for _, v := range w.dict32 {
				dict = binary.LittleEndian.AppendUint32(dict, uint32(v))
			}
			w.dictPage = dict
			ch.dict = true
			ch.dictOff = w.off
			ch.uncompressed, ch.size = w.page(w.codecOf(c), 2, dict, len(w.dict32), 0)
			encoding = 8 // RLE_DICTIONARY
			width := max(1, bits.Len32(uint32(len(w.dict32)-1)))
			body = append(body, byte(width))
			body = appendHybrid(body, keys, width)
		} else {
			for _, v := range c.i32 {
				body = binary.LittleEndian.AppendUint32(body, uint32(v))
			}
		}
		if len(c.i32) > 0 {
			ch.hasStats = true
			if c.Type == Uint32 {
				lo, hi := uint32(c.i32[0]), uint32(c.i32[0])
				for _, v := range c.i32 {
					lo, hi = min(lo, uint32(v)), max(hi, uint32(v))
				}
				ch.min = binary.LittleEndian.AppendUint32(nil, lo)
				ch.max = binary.LittleEndian.AppendUint32(nil, hi)
			} else {
				lo, hi := c.i32[0], c.i32[0]
				for _, v := range c.i32 {
					lo, hi = min(lo, v), max(hi, v)
				}
				ch.min = binary.LittleEndian.AppendUint32(nil, uint32(lo))
				ch.max = binary.LittleEndian.AppendUint32(nil, uint32(hi))
			}
		}
	case Bytes:
		body = append(body, c.plain...)
		if c.hasB {
			ch.min, ch.max, ch.hasStats = append([]byte(nil), c.bmin...), append([]byte(nil), c.bmax...), true
		}
	case String:
		encoding = 8 // RLE_DICTIONARY
		n := len(c.dictEnd)
		if n > 0 {
			// Dictionary page first: PLAIN byte arrays.
			dict := w.dictPage[:0]
			lo, hi := c.entry(0), c.entry(0)
			for k := 0; k < n; k++ {
				e := c.entry(int32(k))
				dict = binary.LittleEndian.AppendUint32(dict, uint32(len(e)))
				dict = append(dict, e...)
				if string(e) < string(lo) {
					lo = e
				}
				if string(e) > string(hi) {
					hi = e
				}
			}
			ch.min, ch.max, ch.hasStats = append([]byte(nil), lo...), append([]byte(nil), hi...), true
			ch.dict = true
			ch.dictOff = w.off
			w.dictPage = dict
			ch.uncompressed, ch.size = w.page(w.codecOf(c), 2, dict, n, 0)
		}
		if n == 0 {
			// Every value NULL: no dictionary, a PLAIN page of levels only.
			encoding = 0
			break
		}
		width := max(1, bits.Len32(uint32(n-1)))
		body = append(body, byte(width))
		body = appendHybrid(body, c.keys, width)
	}
	ch.dataOff = w.off
	u, s := w.page(w.codecOf(c), 0, body, w.rows, encoding)
	ch.uncompressed += u
	ch.size += s
	w.buf = body
	c.reset()
	return ch
}

// smallDictMax is the most distinct values a 32-bit column chunk may have
// to be written with a dictionary (keys of at most 4 bits).
const smallDictMax = 16

// smallDict returns the dictionary keys of vals (the dictionary in
// w.dict32, in order of first appearance) when vals holds at least one and
// at most smallDictMax distinct values.
func (w *Writer) smallDict(vals []int32) ([]int32, bool) {
	dict, keys := w.dict32[:0], w.keys32[:0]
	last := -1
	for _, v := range vals {
		if last >= 0 && dict[last] == v {
			keys = append(keys, int32(last))
			continue
		}
		last = -1
		for k, d := range dict {
			if d == v {
				last = k
				break
			}
		}
		if last < 0 {
			if len(dict) == smallDictMax {
				w.dict32, w.keys32 = dict, keys
				return nil, false
			}
			last = len(dict)
			dict = append(dict, v)
		}
		keys = append(keys, int32(last))
	}
	w.dict32, w.keys32 = dict, keys
	return keys, len(dict) > 0
}

func (c *column) reset() {
	c.defs, c.nulls = c.defs[:0], 0
	c.i32, c.i64, c.plain = c.i32[:0], c.i64[:0], c.plain[:0]
	c.keys, c.dictBuf, c.dictEnd, c.last, c.prev = c.keys[:0], c.dictBuf[:0], c.dictEnd[:0], -1, -1
	c.dict.reset()
	c.dict4.reset()
	c.hasB = false
}

var (
	zstdOnce sync.Once
	zstdEnc  *zstd.Encoder
)

func zstdEncoder() *zstd.Encoder {
	zstdOnce.Do(func() {
		zstdEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
	})
	return zstdEnc
}

// page compresses and writes one page; typ 0 is a data page, 2 a
// dictionary page. It returns the uncompressed and written sizes, headers
// included.
func (w *Writer) page(codec Codec, typ int32, body []byte, values int, encoding int32) (int64, int64) {
	var data []byte
	switch codec {
	case Snappy:
		if need := s2.MaxEncodedLen(len(body)); cap(w.comp) < need {
			w.comp = make([]byte, need)
		}
		data = s2.EncodeSnappy(w.comp[:cap(w.comp)], body)
	case Zstd:
		data = zstdEncoder().EncodeAll(body, w.comp[:0])
	default:
		data = body
	}
	if len(body) > math.MaxInt32 || len(data) > math.MaxInt32 {
		w.err = errors.New("cannot write Parquet page: larger than 2 GiB")
		return 0, 0
	}
	t := &w.hdr
	t.b = t.b[:0]
	t.begin()
	t.i32(1, typ)
	t.i32(2, int32(len(body)))
	t.i32(3, int32(len(data)))
	if typ == 0 {
		t.structField(5)
		t.i32(1, int32(values))
		t.i32(2, encoding)
		t.i32(3, 3) // RLE definition levels
		t.i32(4, 3) // RLE repetition levels
		t.end()
	} else {
		t.structField(7)
		t.i32(1, int32(values))
		t.i32(2, 0) // PLAIN
		t.end()
	}
	t.end()
	w.write(t.b)
	w.write(data)
	if len(data) > 0 && codec != Uncompressed {
		w.comp = data[:0]
	}
	return int64(len(t.b) + len(body)), int64(len(t.b) + len(data))
}

// appendRLE appends one RLE run of n copies of v.
func appendRLE(dst []byte, v int32, n, width int) []byte {
	dst = binary.AppendUvarint(dst, uint64(n)<<1)
	for b := 0; b < (width+7)/8; b++ {
		dst = append(dst, byte(v>>(8*b)))
	}
	return dst
}

// appendHybrid appends v in Parquet's RLE / bit-packing hybrid encoding:
// runs of 8 or more equal values as RLE runs, the rest bit-packed in groups
// of 8 (only the last group is padded).
func appendHybrid[T byte | int32](dst []byte, v []T, width int) []byte {
	n := len(v)
	i := 0
	for i < n {
		r := 1
		for i+r < n && v[i+r] == v[i] {
			r++
		}
		if r >= 8 {
			dst = appendRLE(dst, int32(v[i]), r, width)
			i += r
			continue
		}
		start := i
		for i < n && !run8(v, i) {
			i += 8
		}
		end := min(i, n)
		dst = appendPacked(dst, v[start:end], width)
		if i > n {
			i = n
		}
	}
	return dst
}

func run8[T byte | int32](v []T, i int) bool {
	if i+8 > len(v) {
		return false
	}
	x := v[i]
	for _, y := range v[i+1 : i+8] {
		if y != x {
			return false
		}
	}
	return true
}

func appendPacked[T byte | int32](dst []byte, v []T, width int) []byte {
	groups := (len(v) + 7) / 8
	dst = binary.AppendUvarint(dst, uint64(groups)<<1|1)
	var acc uint64
	nb := 0
	for k := 0; k < groups*8; k++ {
		var x uint64
		if k < len(v) {
			x = uint64(uint32(v[k]))
		}
		acc |= x << nb
		nb += width
		for nb >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			nb -= 8
		}
	}
	return dst
}

// Close flushes the open row group and writes the footer. It does not
// close the underlying writer.
func (w *Writer) Close() error {
	if err := w.Flush(); err != nil {
		return err
	}
	t := &w.hdr
	t.b = t.b[:0]
	t.begin()
	t.i32(1, 1) // version
	t.list(2, tStruct, len(w.cols)+1)
	t.begin()
	t.str(4, "schema")
	t.i32(5, int32(len(w.cols)))
	t.end()
	for _, c := range w.cols {
		t.begin()
		t.i32(1, physical(c.Type))
		rep := int32(0)
		if c.Optional {
			rep = 1
		}
		t.i32(3, rep)
		t.str(4, c.Name)
		switch c.Type {
		case String:
			t.i32(6, 0) // UTF8
			t.structField(10)
			t.structField(1)
			t.end()
			t.end()
		case Date:
			t.i32(6, 6)
			t.structField(10)
			t.structField(6)
			t.end()
			t.end()
		case Uint32:
			t.i32(6, 13) // UINT_32
			t.structField(10)
			t.structField(10)
			t.i8(1, 32)
			t.bool(2, false)
			t.end()
			t.end()
		case Timestamp:
			t.structField(10)
			t.structField(8)
			t.bool(1, false)
			t.structField(2)
			t.structField(2) // MICROS
			t.end()
			t.end()
			t.end()
			t.end()
		}
		t.end()
	}
	t.i64(3, w.total)
	t.list(4, tStruct, len(w.groups))
	for _, g := range w.groups {
		t.begin()
		t.list(1, tStruct, len(g.chunks))
		var comp int64
		for k, ch := range g.chunks {
			c := w.cols[k]
			comp += ch.size
			t.begin()
			t.i64(2, ch.start)
			t.structField(3)
			t.i32(1, physical(c.Type))
			if c.Type == String || ch.dict {
				t.list(2, tI32, 3)
				t.elemI32(0)
				t.elemI32(3)
				t.elemI32(8)
			} else {
				t.list(2, tI32, 3)
				t.elemI32(0)
				t.elemI32(3)
				t.elemI32(5)
			}
			t.list(3, tBinary, 1)
			t.elemStr(c.Name)
			t.i32(4, codecID(w.codecOf(c)))
			t.i64(5, ch.values)
			t.i64(6, ch.uncompressed)
			t.i64(7, ch.size)
			t.i64(9, ch.dataOff)
			if ch.dict {
				t.i64(11, ch.dictOff)
			}
			t.structField(12)
			t.i64(3, ch.nulls)
			if ch.hasStats {
				t.binary(5, ch.max)
				t.binary(6, ch.min)
			}
			t.end()
			t.end()
			t.end()
		}
		t.i64(2, g.bytes)
		t.i64(3, g.rows)
		t.i64(5, g.chunks[0].start)
		t.i64(6, comp)
		t.end()
	}
	t.str(6, w.opts.CreatedBy)
	t.end()
	w.write(t.b)
	w.write(binary.LittleEndian.AppendUint32(nil, uint32(len(t.b))))
	w.write([]byte("PAR1"))
	w.recycle()
	return w.err
}

// colBufs are the value buffers of one closed column, kept for the next
// Writer: a row group's buffers grow to RowGroupRows values, and an ingest
// opens a Writer per segment, so reusing them spares regrowing (copying and
// clearing) every buffer of every column of every file.
type colBufs struct {
	defs, plain, dictBuf []byte
	i32, keys            []int32
	i64                  []int64
	dictEnd              []uint32
	slots                []uint64
}

var bufPool sync.Pool // of *colBufs

// recycle hands the columns' buffers to bufPool; w is unusable after.
func (w *Writer) recycle() {
	for _, c := range w.cols {
		bufPool.Put(&colBufs{defs: c.defs[:0], plain: c.plain[:0], dictBuf: c.dictBuf[:0], i32: c.i32[:0], keys: c.keys[:0],
			i64: c.i64[:0], dictEnd: c.dictEnd[:0], slots: c.dict.slots})
		*c = column{Column: c.Column, last: -1, prev: -1}
	}
}

// reuse takes buffers of a closed column, if any.
func (c *column) reuse() {
	b, _ := bufPool.Get().(*colBufs)
	if b == nil {
		return
	}
	c.defs, c.plain, c.dictBuf, c.i32, c.keys, c.i64, c.dictEnd = b.defs, b.plain, b.dictBuf, b.i32, b.keys, b.i64, b.dictEnd
	c.dict.slots = b.slots
	clear(c.dict.slots)
}

// codecID is Parquet's CompressionCodec number.
func codecID(c Codec) int32 {
	switch c {
	case Snappy:
		return 1
	case Zstd:
		return 6
	}
	return 0
}

func physical(t Type) int32 {
	switch t {
	case Int64, Timestamp:
		return 2
	case String, Bytes:
		return 6
	default:
		return 1
	}
}

// appendDelta appends v in Parquet's DELTA_BINARY_PACKED encoding: blocks
// of 128 deltas in 4 miniblocks of 32, each bit-packed at its own width
// after subtracting the block's smallest delta (wrapping 64-bit arithmetic).
func (w *Writer) appendDelta(dst []byte, v []int64) []byte {
	const block, miniblocks, per = 128, 4, 32
	dst = binary.AppendUvarint(dst, block)
	dst = binary.AppendUvarint(dst, miniblocks)
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	var first int64
	if len(v) > 0 {
		first = v[0]
	}
	dst = binary.AppendUvarint(dst, zigzag(first))
	d := w.deltas[:]
	for i := 1; i < len(v); i += block {
		n := min(block, len(v)-i)
		minD := v[i] - v[i-1]
		for k := 0; k < n; k++ {
			x := v[i+k] - v[i+k-1]
			minD = min(minD, x)
			d[k] = uint64(x)
		}
		dst = binary.AppendUvarint(dst, zigzag(minD))
		var widths [miniblocks]int
		for m := 0; m < miniblocks; m++ {
			var or uint64
			for k := m * per; k < min((m+1)*per, n); k++ {
				d[k] -= uint64(minD)
				or |= d[k]
			}
			widths[m] = bits.Len64(or)
			dst = append(dst, byte(widths[m]))
		}
		for m := 0; m < miniblocks && m*per < n; m++ {
			for k := n; k < (m+1)*per; k++ {
				d[k] = 0 // padding of the last miniblock
			}
			dst = packBits(dst, d[m*per:(m+1)*per], widths[m])
		}
	}
	return dst
}

// packBits appends vals at width bits each, least significant bit first.
func packBits(dst []byte, vals []uint64, width int) []byte {
	if width == 0 {
		return dst
	}
	var acc uint64
	nb := 0 // bits pending in acc, < 8 between values
	for _, x := range vals {
		if width < 64 {
			x &= 1<<width - 1
		}
		acc |= x << nb
		var hi uint64
		if nb > 0 {
			hi = x >> (64 - nb)
		}
		total := nb + width
		if total >= 64 {
			dst = binary.LittleEndian.AppendUint64(dst, acc)
			acc, total = hi, total-64
		}
		for total >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			total -= 8
		}
		nb = total
	}
	if nb > 0 {
		dst = append(dst, byte(acc))
	}
	return dst
}
