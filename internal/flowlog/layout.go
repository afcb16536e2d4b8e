package flowlog

import (
	"errors"
	"fmt"
	"strings"
)

// Layout is the ordered list of fields of a flow log format. It is resolved
// once per object (from its header line or the flow log's LogFormat) and then
// drives the decoding of every line.
type Layout struct {
	Fields []Field
	mask   uint64
}

// ErrLayout is returned, wrapped, for a header or LogFormat that cannot be used.
var ErrLayout = errors.New("invalid flow log layout")

// DefaultLayout is AWS's default format: the 14 version 2 fields.
var DefaultLayout = NewLayout(Version, AccountID, InterfaceID, SrcAddr, DstAddr, SrcPort, DstPort,
	Protocol, Packets, Bytes, Start, End, Action, LogStatus)

// FullLayout selects every field of the registry, in documentation order.
var FullLayout = NewLayout(AllFields()...)

// NewLayout returns the layout of the given fields, in that order.
func NewLayout(fs ...Field) Layout {
	l := Layout{Fields: fs}
	for _, f := range fs {
		l.mask |= 1 << f
	}
	return l
}

// Mask returns a bit set with bit f set for every field f of the layout.
func (l Layout) Mask() uint64 { return l.mask }

// Has reports whether the layout carries f.
func (l Layout) Has(f Field) bool { return l.mask&(1<<f) != 0 }

// Version returns the version AWS writes in records of this layout: the
// highest version among its fields.
func (l Layout) Version() int {
	v := 2
	for _, f := range l.Fields {
		if fields[f].Version > v {
			v = fields[f].Version
		}
	}
	return v
}

// Header returns the header line AWS writes at the top of S3 text objects.
func (l Layout) Header() string {
	names := make([]string, len(l.Fields))
	for i, f := range l.Fields {
		names[i] = fields[f].Name
	}
	return strings.Join(names, " ")
}

// LogFormat returns the layout as an AWS LogFormat string: "${version} ${vpc-id} …".
func (l Layout) LogFormat() string {
	names := make([]string, len(l.Fields))
	for i, f := range l.Fields {
		names[i] = "${" + fields[f].Name + "}"
	}
	return strings.Join(names, " ")
}

// Equal reports whether two layouts have the same fields in the same order.
func (l Layout) Equal(o Layout) bool {
	if len(l.Fields) != len(o.Fields) {
		return false
	}
	for i := range l.Fields {
		if l.Fields[i] != o.Fields[i] {
			return false
		}
	}
	return true
}

// ParseLayout parses a header line ("version account-id …"), a LogFormat
// string ("${version} ${account-id} …") or a list of column names
// ("version account_id …"). Fields are separated by spaces; a field may not
// repeat and must be known.
func ParseLayout(s string) (Layout, error) {
	toks := strings.Fields(s)
	if len(toks) == 0 {
		return Layout{}, fmt.Errorf("%w: no fields", ErrLayout)
	}
	fs := make([]Field, 0, len(toks))
	var seen uint64
	for _, t := range toks {
		f, ok := LookupField(t)
		if !ok {
			return Layout{}, fmt.Errorf("%w: unknown field %q", ErrLayout, cut(t, 64))
		}
		if seen&(1<<f) != 0 {
			return Layout{}, fmt.Errorf("%w: field %q repeated", ErrLayout, t)
		}
		seen |= 1 << f
		fs = append(fs, f)
	}
	return NewLayout(fs...), nil
}

// IsHeader reports whether line looks like a header line: its first token is
// a known field name. No record starts with a field name (records start with a
// value), so this is how repeated headers of concatenated objects are found.
func IsHeader(line []byte) bool {
	end := 0
	for end < len(line) && line[end] != ' ' {
		end++
	}
	if end == 0 {
		return false
	}
	c := line[0]
	if c < 'a' || c > 'z' {
		return false
	}
	_, ok := byName[string(line[:end])]
	return ok
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
