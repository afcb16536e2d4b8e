package clickhouse

import (
	"net/netip"

	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/store"
)

// enrichCache is a worker's direct-mapped cache of recent address lookups:
// flow logs repeat the same few addresses, so most records skip the
// databases and the intel prefix table. It belongs to one worker and needs
// no lock.
type enrichCache struct {
	e  *enrich.Enricher
	v4 [1 << 12]struct {
		ip   uint32
		ok   bool
		info enrich.Info
	}
	v6 [1 << 8]struct {
		ip   [16]byte
		ok   bool
		info enrich.Info
	}
}

// lookup returns the enrichment of record i's source (src) or destination.
func (c *enrichCache) lookup(d *store.Derived, i int, src bool) enrich.Info {
	has4, ip4, has6, ip6 := d.Has4d[i], d.Dst4[i], d.Has6d[i], d.Dst6[i]
	if src {
		has4, ip4, has6, ip6 = d.Has4s[i], d.Src4[i], d.Has6s[i], d.Src6[i]
	}
	switch {
	case has4:
		e := &c.v4[(ip4*2654435761)>>20]
		if !e.ok || e.ip != ip4 {
			e.ip, e.ok = ip4, true
			e.info = c.e.Lookup(netip.AddrFrom4([4]byte{byte(ip4 >> 24), byte(ip4 >> 16), byte(ip4 >> 8), byte(ip4)}))
		}
		return e.info
	case has6:
		h := uint32(ip6[15]) | uint32(ip6[14])<<8 | uint32(ip6[13])<<16 | uint32(ip6[12])<<24
		e := &c.v6[(h*2654435761)>>24]
		if !e.ok || e.ip != ip6 {
			e.ip, e.ok = ip6, true
			e.info = c.e.Lookup(netip.AddrFrom16(ip6))
		}
		return e.info
	}
	return enrich.Info{}
}

// appendEnrichment appends the enrichment column c of a record whose
// source and destination enrichments are s and t, as the embedded store
// fills them: "" and 0 are NULL, intel_list names the source's list, else
// the destination's.
func appendEnrichment(buf []byte, c string, s, t *enrich.Info) []byte {
	str := func(v string) []byte {
		if v == "" {
			return rbNull(buf)
		}
		return rbNullableString(buf, []byte(v))
	}
	asn := func(v uint32) []byte {
		if v == 0 {
			return rbNull(buf)
		}
		return rbUInt32(buf, v)
	}
	switch c {
	case store.ColSrcCountry:
		return str(s.Country)
	case store.ColDstCountry:
		return str(t.Country)
	case store.ColSrcASN:
		return asn(s.ASN)
	case store.ColDstASN:
		return asn(t.ASN)
	case store.ColIntelList:
		if s.Intel != "" {
			return str(s.Intel)
		}
		return str(t.Intel)
	}
	panic("BUG: not an enrichment column: " + c)
}
