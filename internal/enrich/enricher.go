package enrich

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gaissmai/bart"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/flowhunt/flowhunt/internal/flowlog"
)

// Config says where the enrichment data lives. Every part is optional.
type Config struct {
	CountryDB    string        // MaxMind Country or City database (.mmdb)
	ASNDB        string        // MaxMind ASN database (.mmdb)
	IntelLists   []string      // files or http(s) URLs: one IP or CIDR per line, '#' comments
	FetchTimeout time.Duration // per URL; default 30s
	MaxListBytes int64         // per list; default 64 MiB
}

// Info is what the enricher knows about one address. The strings are
// shared, never allocated per lookup.
type Info struct {
	Country string // ISO 3166-1 alpha-2
	ASN     uint32
	ASOrg   string
	Intel   string // name of the first intel list holding the address
}

// Enricher looks up geo, ASN and threat-intel data for addresses. It is safe
// for concurrent use; lookups allocate nothing once an address's network has
// been seen.
type Enricher struct {
	country, asn *maxminddb.Reader
	intel        *bart.Table[uint16] // value: index into lists
	lists        []string
	intelSize    int

	// Decoded database records, keyed by their offset in the data section:
	// there are few distinct records, so each is decoded once.
	geoCache sync.Map // uintptr -> string
	asnCache sync.Map // uintptr -> asnRecord
}

type asnRecord struct {
	num uint32
	org string
}

// New opens the databases and loads the lists.
func New(ctx context.Context, cfg Config) (*Enricher, error) {
	e := &Enricher{}
	var err error
	if cfg.CountryDB != "" {
		if e.country, err = maxminddb.Open(cfg.CountryDB); err != nil {
			return nil, fmt.Errorf("cannot open country database %s (--geoip): %w", cfg.CountryDB, err)
		}
	}
	if cfg.ASNDB != "" {
		if e.asn, err = maxminddb.Open(cfg.ASNDB); err != nil {
			e.Close()
			return nil, fmt.Errorf("cannot open ASN database %s (--asn-db): %w", cfg.ASNDB, err)
		}
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 30 * time.Second
	}
	if cfg.MaxListBytes <= 0 {
		cfg.MaxListBytes = 64 << 20
	}
	for _, src := range cfg.IntelLists {
		if err := e.loadList(ctx, src, cfg); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

// Close releases the databases.
func (e *Enricher) Close() error {
	var errs []error
	if e.country != nil {
		errs = append(errs, e.country.Close())
	}
	if e.asn != nil {
		errs = append(errs, e.asn.Close())
	}
	return errors.Join(errs...)
}

// IntelEntries is the number of prefixes loaded from intel lists.
func (e *Enricher) IntelEntries() int { return e.intelSize }

// Lists names the loaded intel lists in load order.
func (e *Enricher) Lists() []string { return e.lists }

func (e *Enricher) loadList(ctx context.Context, src string, cfg Config) error {
	var r io.ReadCloser
	name := src
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		ctx, cancel := context.WithTimeout(ctx, cfg.FetchTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return fmt.Errorf("cannot fetch intel list %s: %w", src, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("cannot fetch intel list %s: %w", src, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("cannot fetch intel list %s: HTTP %s", src, resp.Status)
		}
		r = resp.Body
		name = src[strings.LastIndexByte(src, '/')+1:]
	} else {
		f, err := os.Open(src)
		if err != nil {
			return fmt.Errorf("cannot open intel list: %w", err)
		}
		r = f
		name = filepath.Base(src)
	}
	defer r.Close()
	name = strings.TrimSuffix(name, filepath.Ext(name))
	return e.AddList(name, io.LimitReader(r, cfg.MaxListBytes), src)
}

// AddList adds an intel list read from r: one IP or CIDR per line, '#'
// starts a comment, blank lines are skipped. Not safe during lookups.
func (e *Enricher) AddList(name string, r io.Reader, src string) error {
	if e.intel == nil {
		e.intel = new(bart.Table[uint16])
	}
	if len(e.lists) >= 1<<16-1 {
		return fmt.Errorf("cannot add intel list %s: too many lists", src)
	}
	idx := uint16(len(e.lists))
	e.lists = append(e.lists, name)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if f := strings.Fields(s); len(f) > 1 {
			s = f[0] // "1.2.3.4 some note" lists
		}
		var p netip.Prefix
		var err error
		if strings.IndexByte(s, '/') >= 0 {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(s)
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if err != nil {
			return fmt.Errorf("cannot parse intel list %s line %d: %q: %w", src, line, cut(s, 60), err)
		}
		p = p.Masked()
		// Keep the first list that named a prefix.
		if _, dup := e.intel.Get(p); !dup {
			e.intel.Insert(p, idx)
			e.intelSize++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cannot read intel list %s: %w", src, err)
	}
	return nil
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Lookup returns what is known about a.
func (e *Enricher) Lookup(a netip.Addr) Info {
	var in Info
	a = a.Unmap()
	if !a.IsValid() {
		return in
	}
	if e.intel != nil {
		if idx, ok := e.intel.Lookup(a); ok {
			in.Intel = e.lists[idx]
		}
	}
	if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return in // databases hold no data for them; skip the tree walk
	}
	if e.country != nil {
		if res := e.country.Lookup(a); res.Found() {
			off := res.Offset()
			if v, ok := e.geoCache.Load(off); ok {
				in.Country = v.(string)
			} else {
				var rec struct {
					Country struct {
						ISOCode string `maxminddb:"iso_code"`
					} `maxminddb:"country"`
					Registered struct {
						ISOCode string `maxminddb:"iso_code"`
					} `maxminddb:"registered_country"`
				}
				if res.Decode(&rec) == nil {
					in.Country = rec.Country.ISOCode
					if in.Country == "" {
						in.Country = rec.Registered.ISOCode
					}
				}
				e.geoCache.Store(off, in.Country)
			}
		}
	}
	if e.asn != nil {
		if res := e.asn.Lookup(a); res.Found() {
			off := res.Offset()
			if v, ok := e.asnCache.Load(off); ok {
				r := v.(asnRecord)
				in.ASN, in.ASOrg = r.num, r.org
			} else {
				var rec struct {
					Num uint32 `maxminddb:"autonomous_system_number"`
					Org string `maxminddb:"autonomous_system_organization"`
				}
				if res.Decode(&rec) == nil {
					in.ASN, in.ASOrg = rec.Num, rec.Org
				}
				e.asnCache.Store(off, asnRecord{in.ASN, in.ASOrg})
			}
		}
	}
	return in
}

// LookupBytes is Lookup for an address in text, as batches hold them; it
// does not allocate.
func (e *Enricher) LookupBytes(b []byte) Info {
	a16, ok := flowlog.ParseIP16(b)
	if !ok {
		return Info{}
	}
	return e.Lookup(netip.AddrFrom16(a16))
}

// EnrichBatch looks up the address column f (flowlog.SrcAddr, DstAddr, …)
// of every record of b into out, which it grows and returns; NULL addresses
// give a zero Info. Reuse out between batches to avoid allocating.
func (e *Enricher) EnrichBatch(b *flowlog.Batch, f flowlog.Field, out []Info) []Info {
	out = out[:0]
	if !b.Has(f) {
		for i := 0; i < b.Len; i++ {
			out = append(out, Info{})
		}
		return out
	}
	col := &b.Str[f]
	nulls := b.Null[f]
	for i := 0; i < b.Len; i++ {
		if i < len(nulls) && nulls[i] {
			out = append(out, Info{})
			continue
		}
		out = append(out, e.LookupBytes(col.Get(i)))
	}
	return out
}
