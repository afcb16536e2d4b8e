package pqwrite

import "encoding/binary"

// Thrift compact protocol, only what Parquet's footer and page headers
// need: structs, lists, i32/i64, binary and bool fields.
const (
	tBoolTrue  = 1
	tBoolFalse = 2
	tByte      = 3
	tI32       = 5
	tI64       = 6
	tBinary    = 8
	tList      = 9
	tStruct    = 12
)

type thrift struct {
	b    []byte
	last []int16 // last field id of each open struct
}

func (t *thrift) field(id int16, typ byte) {
	n := len(t.last) - 1
	d := id - t.last[n]
	if d > 0 && d <= 15 {
		t.b = append(t.b, byte(d)<<4|typ)
	} else {
		t.b = append(t.b, typ)
		t.b = binary.AppendUvarint(t.b, zigzag(int64(id)))
	}
	t.last[n] = id
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func (t *thrift) begin() { t.last = append(t.last, 0) }
func (t *thrift) end()   { t.b = append(t.b, 0); t.last = t.last[:len(t.last)-1] }
func (t *thrift) i32(id int16, v int32) {
	t.field(id, tI32)
	t.b = binary.AppendUvarint(t.b, zigzag(int64(v)))
}
func (t *thrift) i64(id int16, v int64) {
	t.field(id, tI64)
	t.b = binary.AppendUvarint(t.b, zigzag(v))
}
func (t *thrift) i8(id int16, v int8) {
	t.field(id, tByte)
	t.b = append(t.b, byte(v))
}
func (t *thrift) bool(id int16, v bool) {
	if v {
		t.field(id, tBoolTrue)
	} else {
		t.field(id, tBoolFalse)
	}
}
func (t *thrift) binary(id int16, v []byte) {
	t.field(id, tBinary)
	t.b = binary.AppendUvarint(t.b, uint64(len(v)))
	t.b = append(t.b, v...)
}
func (t *thrift) str(id int16, v string) { t.binary(id, []byte(v)) }

// structField opens a struct-valued field; close it with end.
func (t *thrift) structField(id int16) {
	t.field(id, tStruct)
	t.begin()
}

// list opens a list field of n elements of type typ.
func (t *thrift) list(id int16, typ byte, n int) {
	t.field(id, tList)
	if n < 15 {
		t.b = append(t.b, byte(n)<<4|typ)
	} else {
		t.b = append(t.b, 0xf0|typ)
		t.b = binary.AppendUvarint(t.b, uint64(n))
	}
}

// elemI32 and elemStr write list elements.
func (t *thrift) elemI32(v int32) { t.b = binary.AppendUvarint(t.b, zigzag(int64(v))) }
func (t *thrift) elemStr(v string) {
	t.b = binary.AppendUvarint(t.b, uint64(len(v)))
	t.b = append(t.b, v...)
}
