package flowlog

import (
	"strconv"
)

// Record is one decoded flow log record. A field is absent (NULL) when the
// source did not carry it or carried "-". Values are reached through the
// accessors by Field so that decoders, encoders and stores handle every
// field alike.
type Record struct {
	present uint64
	ints    [NumFields]int64
	strs    [NumFields]string
}

// Has reports whether f has a value.
func (r *Record) Has(f Field) bool { return r.present&(1<<f) != 0 }

// Present returns the bit set of fields with a value.
func (r *Record) Present() uint64 { return r.present }

// Int returns the value of the integer field f.
func (r *Record) Int(f Field) (int64, bool) { return r.ints[f], r.Has(f) }

// Str returns the value of the string field f.
func (r *Record) Str(f Field) (string, bool) { return r.strs[f], r.Has(f) }

// IntOr returns the value of f, or def when f is NULL.
func (r *Record) IntOr(f Field, def int64) int64 {
	if !r.Has(f) {
		return def
	}
	return r.ints[f]
}

// StrOr returns the value of f, or def when f is NULL.
func (r *Record) StrOr(f Field, def string) string {
	if !r.Has(f) {
		return def
	}
	return r.strs[f]
}

// SetInt sets the integer field f.
func (r *Record) SetInt(f Field, v int64) {
	r.ints[f] = v
	r.present |= 1 << f
}

// SetStr sets the string field f.
func (r *Record) SetStr(f Field, v string) {
	r.strs[f] = v
	r.present |= 1 << f
}

// SetNull clears f.
func (r *Record) SetNull(f Field) {
	r.present &^= 1 << f
	r.ints[f] = 0
	r.strs[f] = ""
}

// Reset clears every field.
func (r *Record) Reset() { *r = Record{} }

// Value returns f as a string, int64 or nil, which is how tests and JSON
// output compare records.
func (r *Record) Value(f Field) any {
	if !r.Has(f) {
		return nil
	}
	if fields[f].Kind.IsInt() {
		return r.ints[f]
	}
	return r.strs[f]
}

// Equal reports whether two records carry the same values.
func (r *Record) Equal(o *Record) bool {
	if r.present != o.present {
		return false
	}
	for f := Field(0); f < NumFields; f++ {
		if !r.Has(f) {
			continue
		}
		if fields[f].Kind.IsInt() {
			if r.ints[f] != o.ints[f] {
				return false
			}
		} else if r.strs[f] != o.strs[f] {
			return false
		}
	}
	return true
}

// AppendText appends the record in the given layout, as AWS writes it in
// text delivery: values separated by single spaces, "-" for NULL. No newline
// is appended.
func (r *Record) AppendText(dst []byte, l Layout) []byte {
	for i, f := range l.Fields {
		if i > 0 {
			dst = append(dst, ' ')
		}
		switch {
		case !r.Has(f):
			dst = append(dst, '-')
		case fields[f].Kind.IsInt():
			dst = strconv.AppendInt(dst, r.ints[f], 10)
		default:
			dst = append(dst, r.strs[f]...)
		}
	}
	return dst
}

// Text returns the record in layout l.
func (r *Record) Text(l Layout) string { return string(r.AppendText(nil, l)) }
