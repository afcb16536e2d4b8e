package duckdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/enrich/enrichtest"
	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/source"
)

// testEnricher builds geo and ASN databases over nets (countries cycle
// through DE, US, BR, JP, NL; ASNs count from 64500) and an intel list.
func testEnricher(t testing.TB, nets []string, intel string) *enrich.Enricher {
	t.Helper()
	dir := t.TempDir()
	country, asn, list := filepath.Join(dir, "country.mmdb"), filepath.Join(dir, "asn.mmdb"), filepath.Join(dir, "blocklist.txt")
	codes := []string{"DE", "US", "BR", "JP", "NL"}
	enrichtest.WriteMMDB(t, country, "GeoLite2-Country", nets, func(i int) mmdbtype.Map {
		return mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(codes[i%len(codes)])}}
	})
	enrichtest.WriteMMDB(t, asn, "GeoLite2-ASN", nets, func(i int) mmdbtype.Map {
		return mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64500 + i), "autonomous_system_organization": mmdbtype.String(fmt.Sprintf("Example Net %d", i))}
	})
	if err := os.WriteFile(list, []byte(intel), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := enrich.New(context.Background(), enrich.Config{CountryDB: country, ASNDB: asn, IntelLists: []string{list}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestIngestEnrichment(t *testing.T) {
	ctx := context.Background()
	e := testEnricher(t, []string{"203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32"}, "# test list\n198.51.100.77\n")
	in := t.TempDir()
	text := flowlog.DefaultLayout.Header() + "\n" +
		"2 111122223333 eni-1 203.0.113.7 10.0.1.5 44321 22 6 3 180 1793491200 1793491260 REJECT OK\n" +
		"2 111122223333 eni-1 10.0.1.5 198.51.100.77 5000 443 6 10 4000 1793491200 1793491230 ACCEPT OK\n" +
		"2 111122223333 eni-1 2001:db8::1 fd00::5 5000 443 6 10 4000 1793491200 1793491230 ACCEPT OK\n" +
		"2 111122223333 eni-1 - - - - - - - 1793491200 1793491260 - NODATA\n" +
		"2 111122223333 eni-1 203.0.113.7 10.0.1.5 44322 22 6 3 180 1793491200 1793491260 REJECT OK\n"
	if err := os.WriteFile(filepath.Join(in, "one.log"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	q := `SELECT src_country, dst_country, src_asn, dst_asn, intel_list FROM vpc_flow_logs ORDER BY source_line`
	f := func(opts IngestOptions, want ...string) {
		t.Helper()
		s := openStore(t, t.TempDir())
		if _, err := s.Ingest(ctx, localSource(t, in, source.TimeRange{}), opts); err != nil {
			t.Fatal(err)
		}
		r, err := s.Reader(ctx, ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rows, err := r.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			vals := make([]any, 5)
			ptrs := make([]any, 5)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			got = append(got, strings.TrimSpace(fmt.Sprintln(vals...)))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("rows:\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	blocklist := "blocklist"
	f(IngestOptions{Enrich: e},
		"DE <nil> 64500 <nil> <nil>",
		"<nil> US <nil> 64501 "+blocklist,
		"BR <nil> 64502 <nil> <nil>",
		"<nil> <nil> <nil> <nil> <nil>",
		"DE <nil> 64500 <nil> <nil>", // from the cache
	)
	// A column that is NULL in a whole segment (no intel hit) still reads.
	other := testEnricher(t, []string{"192.0.2.0/24"}, "192.0.2.1\n")
	f(IngestOptions{Enrich: other},
		"<nil> <nil> <nil> <nil> <nil>",
		"<nil> <nil> <nil> <nil> <nil>",
		"<nil> <nil> <nil> <nil> <nil>",
		"<nil> <nil> <nil> <nil> <nil>",
		"<nil> <nil> <nil> <nil> <nil>",
	)
	// Without enrichment the columns exist and are NULL.
	nulls := "<nil> <nil> <nil> <nil> <nil>"
	f(IngestOptions{}, nulls, nulls, nulls, nulls, nulls)
}

func TestAddrCacheAgreesWithLookup(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var nets []string
	for i := 0; i < 500; i++ {
		nets = append(nets, fmt.Sprintf("%d.%d.0.0/16", 11+rng.IntN(180), rng.IntN(256)))
	}
	e := testEnricher(t, nets, "11.0.0.1\n12.0.0.0/8\n")
	c := &addrCache{e: e}
	// Many more distinct addresses than cache slots, each asked twice.
	for i := 0; i < 20000; i++ {
		ip := uint32(11+rng.IntN(180))<<24 | uint32(rng.IntN(1<<24))
		for k := 0; k < 2; k++ {
			a := [4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}
			want := e.LookupBytes([]byte(fmt.Sprintf("%d.%d.%d.%d", a[0], a[1], a[2], a[3])))
			if got := c.lookup4(ip); got != want {
				t.Fatalf("%v: cache %+v, lookup %+v", a, got, want)
			}
		}
	}
	if c.hits == 0 || c.miss == 0 {
		t.Errorf("hits %d, misses %d: the cache was not exercised", c.hits, c.miss)
	}
}
