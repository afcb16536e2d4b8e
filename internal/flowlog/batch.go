package flowlog

// Batch holds decoded records column by column, the way stores write them.
// Decoders fill a Batch and hand it to their caller, then reuse it: a
// consumer must copy what it keeps. Columns of fields the source did not
// carry (see Fields) are empty; every value of such a field is NULL.
type Batch struct {
	Len    int
	Fields uint64 // bit f set when the source layout carries field f

	Int  [NumFields][]int64 // values of integer fields; 0 where Null
	Str  [NumFields]Strings // values of string fields; empty where Null
	Null [NumFields][]bool  // Null[f][i]: record i has no value for f
	Line []int64            // line (or event/row) number of each record in its object

	// Addr4 holds, for the address fields (srcaddr, dstaddr, pkt-srcaddr,
	// pkt-dstaddr), value i as an IPv4 address: Is4Addr bit set and the
	// address in the low 32 bits, or 0 when the value is NULL or IPv6.
	// Decoders that parse addresses while checking them fill it, so stores
	// need not parse them again; it is empty (len < Len) otherwise.
	Addr4 [NumFields][]uint64
}

// Is4Addr marks an IPv4 address in Batch.Addr4.
const Is4Addr = 1 << 32

// IPv4 returns value i of address field f as an IPv4 address when the
// decoder parsed it (ok), and whether it is one (is4).
func (b *Batch) IPv4(f Field, i int) (ip uint32, is4, ok bool) {
	if len(b.Addr4[f]) != b.Len {
		return 0, false, false
	}
	a := b.Addr4[f][i]
	return uint32(a), a&Is4Addr != 0, true
}

// Strings is a column of strings packed into one buffer: value i is
// Buf[End[i-1]:End[i]] (with End[-1] = 0).
type Strings struct {
	Buf []byte
	End []uint32
}

// Get returns value i as a subslice of the buffer.
func (s *Strings) Get(i int) []byte {
	var start uint32
	if i > 0 {
		start = s.End[i-1]
	}
	return s.Buf[start:s.End[i]]
}

// Append adds a value.
func (s *Strings) Append(v []byte) {
	s.Buf = append(s.Buf, v...)
	s.End = append(s.End, uint32(len(s.Buf)))
}

// AppendString adds a value.
func (s *Strings) AppendString(v string) {
	s.Buf = append(s.Buf, v...)
	s.End = append(s.End, uint32(len(s.Buf)))
}

func (s *Strings) reset() {
	s.Buf = s.Buf[:0]
	s.End = s.End[:0]
}

func (s *Strings) truncate(n int) {
	s.End = s.End[:n]
	if n == 0 {
		s.Buf = s.Buf[:0]
	} else {
		s.Buf = s.Buf[:s.End[n-1]]
	}
}

// Has reports whether the batch's source carried f.
func (b *Batch) Has(f Field) bool { return b.Fields&(1<<f) != 0 }

// Reset empties the batch for records of the given layout, keeping its memory.
func (b *Batch) Reset(l Layout) {
	b.Len = 0
	b.Fields = l.Mask()
	for f := Field(0); f < NumFields; f++ {
		b.Int[f] = b.Int[f][:0]
		b.Null[f] = b.Null[f][:0]
		b.Str[f].reset()
		b.Addr4[f] = b.Addr4[f][:0]
	}
	b.Line = b.Line[:0]
}

// Truncate drops records from index n on; decoders use it to undo a
// partly appended bad line.
func (b *Batch) Truncate(n int) {
	if n >= b.Len {
		return
	}
	for f := Field(0); f < NumFields; f++ {
		if !b.Has(f) {
			continue
		}
		b.Null[f] = b.Null[f][:n]
		if len(b.Addr4[f]) > n {
			b.Addr4[f] = b.Addr4[f][:n]
		}
		if fields[f].Kind.IsInt() {
			b.Int[f] = b.Int[f][:n]
		} else {
			b.Str[f].truncate(n)
		}
	}
	b.Line = b.Line[:n]
	b.Len = n
}

// AppendRecord adds r. Fields r carries that the batch's layout does not are
// ignored.
func (b *Batch) AppendRecord(r *Record, line int64) {
	for f := Field(0); f < NumFields; f++ {
		if !b.Has(f) {
			continue
		}
		null := !r.Has(f)
		b.Null[f] = append(b.Null[f], null)
		b.Addr4[f] = b.Addr4[f][:0] // not parsed here: consumers parse the text
		if fields[f].Kind.IsInt() {
			b.Int[f] = append(b.Int[f], r.ints[f])
		} else {
			b.Str[f].AppendString(r.strs[f])
		}
	}
	b.Line = append(b.Line, line)
	b.Len++
}

// Record copies record i into r.
func (b *Batch) Record(i int, r *Record) {
	r.Reset()
	for f := Field(0); f < NumFields; f++ {
		if !b.Has(f) || b.Null[f][i] {
			continue
		}
		if fields[f].Kind.IsInt() {
			r.SetInt(f, b.Int[f][i])
		} else {
			r.SetStr(f, string(b.Str[f].Get(i)))
		}
	}
}
