package pqwrite

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// readAll reads every row back with parquet-go (an independent reader) as
// text: NULL, an integer, or a quoted string.
func readAll(t *testing.T, data []byte) (names []string, rows [][]string) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("cannot open written file: %v", err)
	}
	for _, c := range f.Schema().Columns() {
		names = append(names, c[0])
	}
	for _, rg := range f.RowGroups() {
		rr := rg.Rows()
		buf := make([]parquet.Row, 64)
		for {
			n, err := rr.ReadRows(buf)
			for _, r := range buf[:n] {
				var out []string
				for _, v := range r {
					switch {
					case v.IsNull():
						out = append(out, "NULL")
					case v.Kind() == parquet.ByteArray:
						out = append(out, fmt.Sprintf("%q", v.ByteArray()))
					case v.Kind() == parquet.Int32:
						out = append(out, fmt.Sprint(v.Int32()))
					default:
						out = append(out, fmt.Sprint(v.Int64()))
					}
				}
				rows = append(rows, out)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("cannot read rows: %v", err)
			}
		}
		rr.Close()
	}
	return names, rows
}

func TestWriterRoundTrip(t *testing.T) {
	cols := []Column{
		{Name: "i32", Type: Int32, Optional: true},
		{Name: "i64", Type: Int64, Optional: true},
		{Name: "u32", Type: Uint32, Optional: true},
		{Name: "day", Type: Date},
		{Name: "ts", Type: Timestamp, Optional: true},
		{Name: "s", Type: String, Optional: true},
		{Name: "obj", Type: String},
		{Name: "blob", Type: Bytes, Optional: true},
		{Name: "rare", Type: String, Optional: true}, // all NULL in most row groups
		{Name: "none", Type: Int64, Optional: true, Null: true},
		{Name: "nones", Type: String, Optional: true, Null: true},
	}
	for _, opts := range []Options{{Codec: Uncompressed}, {Codec: Snappy}, {Codec: Zstd}, {Codec: Zstd, RawStrings: true}, {DeltaInt64: true}, {Codec: Snappy, DeltaInt64: true}} {
		codec := opts.Codec
		var buf bytes.Buffer
		// Small row groups so a file has several, with dictionaries reset.
		opts.RowGroupRows = 7
		w := NewWriter(&buf, cols, opts)
		const n = 40
		i32 := make([]int64, n)
		i64 := make([]int64, n)
		u32 := make([]uint32, n)
		day := make([]int32, n)
		null := make([]bool, n)
		has := make([]bool, n)
		var strs [][]byte
		var rare []string
		var want [][]string
		for i := 0; i < n; i++ {
			i32[i], i64[i], u32[i], day[i] = int64(i-20), int64(i)<<40, 4000000000+uint32(i), int32(20000+i/10)
			null[i] = i%3 == 0
			has[i] = i%4 != 0
			s := fmt.Sprintf("v%d", i/9) // runs of equal values
			if i > 30 {
				s = fmt.Sprintf("x%d", i) // all distinct
			}
			strs = append(strs, []byte(s))
			row := []string{fmt.Sprint(i - 20), fmt.Sprint(int64(i) << 40), fmt.Sprint(int32(4000000000 + uint32(i))), fmt.Sprint(20000 + i/10), fmt.Sprint(int64(i) << 40), fmt.Sprintf("%q", s), `"obj"`, fmt.Sprintf("%q", s), "NULL", "NULL", "NULL"}
			rare = append(rare, "")
			if i == 17 {
				rare[i], row[8] = "hit", `"hit"`
			}
			if null[i] {
				row[0], row[5] = "NULL", "NULL"
			}
			if !has[i] {
				row[1], row[2], row[4], row[7] = "NULL", "NULL", "NULL", "NULL"
			}
			want = append(want, row)
		}
		// Append in uneven slices, with and without an index.
		for lo := 0; lo < n; {
			hi := min(n, lo+5+lo%3)
			idx := make([]int32, 0, hi-lo)
			for i := lo; i < hi; i++ {
				idx = append(idx, int32(i))
			}
			Ints(w, 0, i32, null, true, idx, len(idx))
			Ints(w, 1, i64[lo:hi], has[lo:hi], false, nil, hi-lo)
			Ints(w, 2, u32, has, false, idx, len(idx))
			Ints(w, 3, day[lo:hi], nil, false, nil, hi-lo)
			Ints(w, 4, i64, has, false, idx, len(idx))
			w.Strings(5, func(i int) []byte { return strs[i] }, null, true, idx, len(idx))
			w.Repeat(6, []byte("obj"), hi-lo)
			w.Strings(7, func(i int) []byte { return strs[i] }, has, false, idx, len(idx))
			w.Texts(8, rare, idx, len(idx))
			if err := w.Advance(hi - lo); err != nil {
				t.Fatal(err)
			}
			lo = hi
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		names, got := readAll(t, buf.Bytes())
		if strings.Join(names, ",") != "i32,i64,u32,day,ts,s,obj,blob,rare,none,nones" {
			t.Errorf("codec %d: columns %v", codec, names)
		}
		if len(got) != n {
			t.Fatalf("codec %d: read %d rows, want %d", codec, len(got), n)
		}
		for i := range want {
			if strings.Join(got[i], " ") != strings.Join(want[i], " ") {
				t.Errorf("codec %d row %d:\n got %v\nwant %v", codec, i, got[i], want[i])
			}
		}
	}
}

func TestHybridEncoding(t *testing.T) {
	// Decode what appendHybrid wrote and compare.
	decode := func(b []byte, width, n int) []int32 {
		var out []int32
		for len(out) < n {
			h, k := uvarint(b)
			b = b[k:]
			if h&1 == 0 {
				var v int32
				for i := 0; i < (width+7)/8; i++ {
					v |= int32(b[i]) << (8 * i)
				}
				b = b[(width+7)/8:]
				for i := 0; i < int(h>>1); i++ {
					out = append(out, v)
				}
				continue
			}
			groups := int(h >> 1)
			var acc uint64
			nb := 0
			for i := 0; i < groups*8; i++ {
				for nb < width {
					acc |= uint64(b[0]) << nb
					b = b[1:]
					nb += 8
				}
				out = append(out, int32(acc&(1<<width-1)))
				acc >>= width
				nb -= width
			}
		}
		return out[:n]
	}
	f := func(in []int32, width int) {
		t.Helper()
		got := decode(appendHybrid(nil, in, width), width, len(in))
		if fmt.Sprint(got) != fmt.Sprint(in) {
			t.Errorf("width %d:\n got %v\nwant %v", width, got, in)
		}
	}
	f([]int32{1}, 1)
	f([]int32{0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0}, 1)
	f([]int32{5, 5, 5, 5, 5, 5, 5, 5, 5, 1, 2, 3}, 3)
	var long []int32
	for i := 0; i < 300; i++ {
		long = append(long, int32(i*i%1000))
		if i%50 == 0 {
			for k := 0; k < 20; k++ {
				long = append(long, 7)
			}
		}
	}
	f(long, 10)
	f([]int32{1 << 20, 3, 1<<21 - 1}, 21)
}

func uvarint(b []byte) (uint64, int) {
	var v uint64
	for i, c := range b {
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1
		}
	}
	return v, len(b)
}

// BenchmarkWriter writes flow-shaped rows (two dictionary strings, four
// integers, one optional) and reports the cost per row.
func BenchmarkWriter(b *testing.B) {
	const n = 8192
	addrs := make([][]byte, 512)
	for i := range addrs {
		addrs[i] = []byte(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
	}
	ports := make([]int64, n)
	bytesCol := make([]int64, n)
	null := make([]bool, n)
	src := make([]int32, n)
	for i := 0; i < n; i++ {
		ports[i], bytesCol[i], null[i], src[i] = int64(1024+i*7%60000), int64(i*131), i%50 == 0, int32(i*17%512)
	}
	cols := []Column{
		{Name: "srcaddr", Type: String, Optional: true},
		{Name: "dstaddr", Type: String, Optional: true},
		{Name: "srcport", Type: Int32, Optional: true},
		{Name: "bytes", Type: Int64, Optional: true},
		{Name: "start", Type: Int64, Optional: true},
		{Name: "action", Type: String, Optional: true},
	}
	for _, codec := range []Codec{Uncompressed, Snappy} {
		b.Run(fmt.Sprint("codec=", codec), func(b *testing.B) {
			b.ReportAllocs()
			w := NewWriter(io.Discard, cols, Options{Codec: codec})
			get := func(i int) []byte { return addrs[src[i]] }
			rev := func(i int) []byte { return addrs[511-src[i]] }
			for i := 0; i < b.N; i++ {
				w.Strings(0, get, nil, false, nil, n)
				w.Strings(1, rev, nil, false, nil, n)
				Ints(w, 2, ports, null, true, nil, n)
				Ints(w, 3, bytesCol, null, true, nil, n)
				Ints(w, 4, bytesCol, nil, false, nil, n)
				w.Repeat(5, []byte("ACCEPT"), n)
				if err := w.Advance(n); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}

func TestDeltaInt64(t *testing.T) {
	f := func(name string, vals []int64) {
		t.Helper()
		var buf bytes.Buffer
		w := NewWriter(&buf, []Column{{Name: "v", Type: Int64, Optional: true}}, Options{DeltaInt64: true, RowGroupRows: 1000})
		null := make([]bool, len(vals))
		for i := range null {
			null[i] = i%97 == 5
		}
		Ints(w, 0, vals, null, true, nil, len(vals))
		if err := w.Advance(len(vals)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		_, rows := readAll(t, buf.Bytes())
		if len(rows) != len(vals) {
			t.Fatalf("%s: %d rows, want %d", name, len(rows), len(vals))
		}
		for i, r := range rows {
			want := fmt.Sprint(vals[i])
			if null[i] {
				want = "NULL"
			}
			if r[0] != want {
				t.Fatalf("%s: row %d = %s, want %s", name, i, r[0], want)
			}
		}
	}
	f("one", []int64{42})
	f("two", []int64{-7, 1 << 50})
	var times, extremes, mixed []int64
	for i := 0; i < 2500; i++ { // several row groups, partial last block
		times = append(times, 1793491200+int64(i/3))
		if i%2 == 0 {
			extremes = append(extremes, math.MinInt64+int64(i))
		} else {
			extremes = append(extremes, math.MaxInt64-int64(i))
		}
		mixed = append(mixed, int64(i*i%1000)-500)
	}
	f("times", times)
	f("extremes", extremes)
	f("mixed", mixed)
	f("129", times[:129])
}

// TestDictionaryMany writes 32-bit columns with and without a small
// dictionary, and String columns whose dictionaries grow past
// several index sizes, with values that alternate (the two-key history),
// repeat far apart (the index) and share prefixes, across row groups whose
// dictionaries start afresh; parquet-go must read every value back.
func TestDictionaryMany(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, []Column{{Name: "addr", Type: String, Optional: true}, {Name: "pair", Type: String},
		{Name: "proto", Type: Int32, Optional: true}, {Name: "port", Type: Uint32}, {Name: "day", Type: Date}}, Options{RowGroupRows: 7000})
	var proto, port, day []int32
	var want []string
	var addr, pair []byte
	var end, pend []uint32
	var null []bool
	const n = 20000
	for i := 0; i < n; i++ {
		v := fmt.Sprintf("10.%d.%d.%d", i%7, (i*31)%251, i%1000) // repeats every 7000 rows
		addr = append(addr, v...)
		end = append(end, uint32(len(addr)))
		null = append(null, i%13 == 0)
		p := []string{"a", "b"}[i%2] + strings.Repeat("x", (i/100)%3) // alternates
		pair = append(pair, p...)
		pend = append(pend, uint32(len(pair)))
		if i%13 == 0 {
			v = "NULL"
		} else {
			v = fmt.Sprintf("%q", v)
		}
		// proto: 16 distinct values in the first row group (a dictionary),
		// 17 in the second (plain), 3 in the third; day: one value a row
		// group, changing inside the second.
		pv := int32([]int{i % 16, i % 17, []int{6, 17, 1}[i%3]}[i/7000])
		proto = append(proto, pv)
		port = append(port, int32(i*7919%65536))
		day = append(day, int32(20000+i/10000))
		want = append(want, v+" "+fmt.Sprintf("%q", p)+" "+fmt.Sprint(pv)+" "+fmt.Sprint(i*7919%65536)+" "+fmt.Sprint(20000+i/10000))
	}
	for k := 0; k < n; k += 1000 {
		idx := make([]int32, 1000)
		for j := range idx {
			idx[j] = int32(k + j)
		}
		w.Packed(0, addr, end, null, idx, 1000)
		w.Packed(1, pair, pend, nil, idx, 1000)
		Ints(w, 2, proto, nil, false, idx, 1000)
		Ints(w, 3, port, nil, false, idx, 1000)
		Ints(w, 4, day, nil, false, idx, 1000)
		if err := w.Advance(1000); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, rows := readAll(t, buf.Bytes())
	if len(rows) != n {
		t.Fatalf("read %d rows, want %d", len(rows), n)
	}
	for i, r := range rows {
		if got := strings.Join(r, " "); got != want[i] {
			t.Fatalf("row %d: got %s, want %s", i, got, want[i])
		}
	}
}

// TestPackedIPv4 writes the same addresses (IPv4 with their integers or
// without, IPv6, NULL; repeated and new, over several row groups) with Packed and
// with PackedIPv4: the files must be byte for byte the same.
func TestPackedIPv4(t *testing.T) {
	var buf []byte
	var end, v4 []uint32
	var null, is4 []bool
	const n = 5000
	for i := 0; i < n; i++ {
		var v string
		switch {
		case i%11 == 0:
			v = fmt.Sprintf("2001:db8::%x", i%300)
		case i%17 == 0:
			v = "-"
		default:
			a := uint32(10<<24 | (i%5)<<16 | (i*7)%400)
			v = fmt.Sprintf("%d.%d.%d.%d", a>>24, a>>16&255, a>>8&255, a&255)
			v4 = append(v4, a)
			// Some IPv4 values come without their integer (pkt-srcaddr
			// where it differs from srcaddr): both paths must agree.
			is4 = append(is4, i%7 != 0)
		}
		if len(is4) <= i {
			v4, is4 = append(v4, 0), append(is4, false)
		}
		null = append(null, v == "-")
		if v != "-" {
			buf = append(buf, v...)
		}
		end = append(end, uint32(len(buf)))
	}
	write := func(v4ed bool) []byte {
		var out bytes.Buffer
		w := NewWriter(&out, []Column{{Name: "srcaddr", Type: String, Optional: true}}, Options{RowGroupRows: 1500})
		for k := 0; k < n; k += 500 {
			idx := make([]int32, 500)
			for j := range idx {
				idx[j] = int32(k + j)
			}
			if v4ed {
				w.PackedIPv4(0, buf, end, null, v4, is4, idx, 500)
			} else {
				w.Packed(0, buf, end, null, idx, 500)
			}
			if err := w.Advance(500); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	plain, v4ed := write(false), write(true)
	if !bytes.Equal(plain, v4ed) {
		t.Fatalf("PackedIPv4 wrote %d bytes that differ from Packed's %d", len(v4ed), len(plain))
	}
	if _, rows := readAll(t, v4ed); len(rows) != n {
		t.Fatalf("read %d rows, want %d", len(rows), n)
	}
}
