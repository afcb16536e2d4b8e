package duckdb

import (
	"net/netip"

	"github.com/flowhunt/flowhunt/internal/enrich"
)

// enrichment holds the enrichment columns of one batch.
type enrichment struct {
	srcCountry, dstCountry []string // "" is NULL
	srcASN, dstASN         []uint32 // valid when hasSrcASN / hasDstASN
	hasSrcASN, hasDstASN   []bool
	intel                  []string // "" is NULL
}

// addrCache is a per-worker, direct-mapped cache of recent lookups: flow
// logs repeat the same few addresses (the VPC's own, its busy peers) so most
// records skip the prefix-table and database walks. It is not shared, so it
// needs no lock.
type addrCache struct {
	e    *enrich.Enricher
	v4   [1 << 12]cached4
	v6   [1 << 8]cached6
	hits int64
	miss int64
}

type cached4 struct {
	ip   uint32
	ok   bool
	info enrich.Info
}

type cached6 struct {
	ip   [16]byte
	ok   bool
	info enrich.Info
}

func (c *addrCache) lookup4(ip uint32) enrich.Info {
	e := &c.v4[(ip*2654435761)>>20]
	if e.ok && e.ip == ip {
		c.hits++
		return e.info
	}
	c.miss++
	e.ip, e.ok = ip, true
	e.info = c.e.Lookup(netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}))
	return e.info
}

func (c *addrCache) lookup6(ip [16]byte) enrich.Info {
	h := uint32(ip[15]) | uint32(ip[14])<<8 | uint32(ip[13])<<16 | uint32(ip[12])<<24
	e := &c.v6[(h*2654435761)>>24]
	if e.ok && e.ip == ip {
		c.hits++
		return e.info
	}
	c.miss++
	e.ip, e.ok = ip, true
	e.info = c.e.Lookup(netip.AddrFrom16(ip))
	return e.info
}

// compute fills x for the n records whose numeric addresses d holds.
func (x *enrichment) compute(d *derived, n int, c *addrCache) {
	x.srcCountry, x.dstCountry = grow(x.srcCountry, n), grow(x.dstCountry, n)
	x.srcASN, x.dstASN = grow(x.srcASN, n), grow(x.dstASN, n)
	x.hasSrcASN, x.hasDstASN = grow(x.hasSrcASN, n), grow(x.hasDstASN, n)
	x.intel = grow(x.intel, n)
	for i := 0; i < n; i++ {
		var s, t enrich.Info
		switch {
		case d.Has4s[i]:
			s = c.lookup4(d.Src4[i])
		case d.Has6s[i]:
			s = c.lookup6(d.Src6[i])
		}
		switch {
		case d.Has4d[i]:
			t = c.lookup4(d.Dst4[i])
		case d.Has6d[i]:
			t = c.lookup6(d.Dst6[i])
		}
		x.srcCountry[i], x.dstCountry[i] = s.Country, t.Country
		x.srcASN[i], x.dstASN[i] = s.ASN, t.ASN
		x.hasSrcASN[i], x.hasDstASN[i] = s.ASN != 0, t.ASN != 0
		x.intel[i] = s.Intel
		if x.intel[i] == "" {
			x.intel[i] = t.Intel
		}
	}
}
