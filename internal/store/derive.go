package store

import (
	"net/netip"

	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/source"
)

// Derived holds the derived columns of one flowlog.Batch, computed once in
// Go by every backend so that both stores fill them identically.
type Derived struct {
	Date           []int32 // days since 1970-01-01 (the partition)
	TsStart, TsEnd []int64 // epoch seconds; valid when HasStart/HasEnd
	HasStart       []bool
	HasEnd         []bool
	Src4, Dst4     []uint32 // valid when Has4s/Has4d
	Has4s, Has4d   []bool
	Src6, Dst6     [][16]byte // valid when Has6s/Has6d
	Has6s, Has6d   []bool
	Dir            []int8 // index into Directions, -1 for NULL
}

// Directions are the values of ColDirection, indexed by Derived.Dir.
var Directions = [...]string{DirInbound, DirOutbound, DirInternal, DirExternal}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// Compute fills d for batch b. fallbackDay is the partition of records
// without start and end (the object's own day, else the epoch).
func (d *Derived) Compute(b *flowlog.Batch, nets *Networks, fallbackDay int32) {
	n := b.Len
	d.Date = grow(d.Date, n)
	d.TsStart, d.TsEnd = grow(d.TsStart, n), grow(d.TsEnd, n)
	d.HasStart, d.HasEnd = grow(d.HasStart, n), grow(d.HasEnd, n)
	d.Src4, d.Dst4 = grow(d.Src4, n), grow(d.Dst4, n)
	d.Has4s, d.Has4d = grow(d.Has4s, n), grow(d.Has4d, n)
	d.Src6, d.Dst6 = grow(d.Src6, n), grow(d.Dst6, n)
	d.Has6s, d.Has6d = grow(d.Has6s, n), grow(d.Has6d, n)
	d.Dir = grow(d.Dir, n)
	hasStart, hasEnd := b.Has(flowlog.Start), b.Has(flowlog.End)
	hasSrc, hasDst := b.Has(flowlog.SrcAddr), b.Has(flowlog.DstAddr)
	for i := 0; i < n; i++ {
		d.Date[i] = fallbackDay
		d.HasStart[i] = hasStart && !b.Null[flowlog.Start][i]
		if d.HasStart[i] {
			s := b.Int[flowlog.Start][i]
			d.TsStart[i] = s
			d.Date[i] = int32(FloorDiv(s, 86400))
		}
		d.HasEnd[i] = hasEnd && !b.Null[flowlog.End][i]
		if d.HasEnd[i] {
			d.TsEnd[i] = b.Int[flowlog.End][i]
			if !d.HasStart[i] {
				d.Date[i] = int32(FloorDiv(b.Int[flowlog.End][i], 86400))
			}
		}
		var sIn, dIn, sOK, dOK bool
		d.Has4s[i], d.Has6s[i] = false, false
		if hasSrc && !b.Null[flowlog.SrcAddr][i] {
			sIn, sOK = addr(b, flowlog.SrcAddr, i, nets, &d.Src4[i], &d.Has4s[i], &d.Src6[i], &d.Has6s[i])
		}
		d.Has4d[i], d.Has6d[i] = false, false
		if hasDst && !b.Null[flowlog.DstAddr][i] {
			dIn, dOK = addr(b, flowlog.DstAddr, i, nets, &d.Dst4[i], &d.Has4d[i], &d.Dst6[i], &d.Has6d[i])
		}
		switch {
		case !sOK || !dOK:
			d.Dir[i] = -1
		case !sIn && dIn:
			d.Dir[i] = 0
		case sIn && !dIn:
			d.Dir[i] = 1
		case sIn && dIn:
			d.Dir[i] = 2
		default:
			d.Dir[i] = 3
		}
	}
}

// addr puts address field f of record i into its numeric column (parsed
// by the decoder already when it is IPv4) and says whether it is internal;
// ok is false for text that is no address.
func addr(b *flowlog.Batch, f flowlog.Field, i int, nets *Networks, v4 *uint32, has4 *bool, v6 *[16]byte, has6 *bool) (internal, ok bool) {
	ip, is4, parsed := b.IPv4(f, i)
	text := b.Str[f].Get(i)
	if !parsed {
		ip, is4 = flowlog.ParseIPv4(text)
	}
	if is4 {
		*v4, *has4 = ip, true
		return nets.Has4(ip), true
	}
	a16, ok := flowlog.ParseIP16(text)
	if !ok {
		return false, false
	}
	*v6, *has6 = a16, true
	return nets.Has6(netip.AddrFrom16(a16).Unmap()), true
}

// FloorDiv divides rounding towards negative infinity (days before 1970).
func FloorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// DefaultInternal are the networks internal by default for ColDirection.
var DefaultInternal = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("fc00::/7"),
}

// Networks decides whether an address is internal.
type Networks struct {
	v4 [][2]uint32 // first, last
	v6 []netip.Prefix
}

// NewNetworks returns DefaultInternal plus extra.
func NewNetworks(extra []netip.Prefix) *Networks {
	n := &Networks{}
	for _, p := range append(append([]netip.Prefix(nil), DefaultInternal...), extra...) {
		p = p.Masked()
		if p.Addr().Is4() {
			a := p.Addr().As4()
			first := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
			last := first | uint32(uint64(1)<<(32-p.Bits())-1)
			n.v4 = append(n.v4, [2]uint32{first, last})
		} else {
			n.v6 = append(n.v6, p)
		}
	}
	return n
}

// Has4 reports whether an IPv4 address (as an integer) is internal.
func (n *Networks) Has4(ip uint32) bool {
	for _, r := range n.v4 {
		if ip >= r[0] && ip <= r[1] {
			return true
		}
	}
	return false
}

// Has6 reports whether an address is internal.
func (n *Networks) Has6(a netip.Addr) bool {
	if a.Is4() {
		b := a.As4()
		return n.Has4(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
	}
	for _, p := range n.v6 {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ObjectDay is the partition of an object's records that carry no start or
// end time: the day its S3 key names, else the epoch.
func ObjectDay(key string) int32 {
	if t, _, ok := source.KeyTime(key); ok {
		return int32(FloorDiv(t.Unix(), 86400))
	}
	return 0
}
