package enrich

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/flowhunt/flowhunt/internal/enrich/enrichtest"
	"github.com/flowhunt/flowhunt/internal/flowlog"
)

func testDBs(t testing.TB, nets []string) (country, asn string) {
	dir := t.TempDir()
	country, asn = filepath.Join(dir, "country.mmdb"), filepath.Join(dir, "asn.mmdb")
	codes := []string{"DE", "US", "BR", "JP", "NL"}
	enrichtest.WriteMMDB(t, country, "GeoLite2-Country", nets, func(i int) mmdbtype.Map {
		return mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(codes[i%len(codes)])}}
	})
	enrichtest.WriteMMDB(t, asn, "GeoLite2-ASN", nets, func(i int) mmdbtype.Map {
		return mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64500 + i), "autonomous_system_organization": mmdbtype.String(fmt.Sprintf("Example Net %d", i))}
	})
	return country, asn
}

func TestEnricherLookup(t *testing.T) {
	country, asn := testDBs(t, []string{"198.51.100.0/24", "203.0.113.0/25", "2001:db8::/32"})
	dir := t.TempDir()
	list := filepath.Join(dir, "c2-servers.txt")
	os.WriteFile(list, []byte("# C2 list\n198.51.100.77\n\n203.0.113.0/28 # whole block\n2001:db8::dead\n"), 0o644)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "198.51.100.0/24\n192.0.2.1 scanner")
	}))
	defer srv.Close()

	e, err := New(context.Background(), Config{CountryDB: country, ASNDB: asn, IntelLists: []string{list, srv.URL + "/feeds/scanners.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	f := func(addr, want string) {
		t.Helper()
		for range 2 { // the second lookup is served from the cache
			in := e.LookupBytes([]byte(addr))
			got := fmt.Sprintf("%s AS%d %q %s", in.Country, in.ASN, in.ASOrg, in.Intel)
			if got != want {
				t.Errorf("Lookup(%s) (-got +want)\n- %s\n+ %s", addr, got, want)
			}
		}
	}
	f("198.51.100.77", `DE AS64500 "Example Net 0" c2-servers`)
	f("198.51.100.78", `DE AS64500 "Example Net 0" scanners`)
	f("203.0.113.5", `US AS64501 "Example Net 1" c2-servers`)
	f("203.0.113.200", ` AS0 "" `)
	f("2001:db8::dead", `BR AS64502 "Example Net 2" c2-servers`)
	f("192.0.2.1", ` AS0 "" scanners`)
	f("10.0.0.1", ` AS0 "" `)
	f("not-an-ip", ` AS0 "" `)
	if e.IntelEntries() != 5 {
		t.Errorf("IntelEntries = %d, want 5", e.IntelEntries())
	}

	allocs := testing.AllocsPerRun(100, func() { e.LookupBytes([]byte("198.51.100.77")) })
	if allocs != 0 {
		t.Errorf("LookupBytes allocates %.1f times per call, want 0", allocs)
	}
}

func TestEnricherErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("1.2.3.4\n1.2.3.400\n"), 0o644)
	f := func(cfg Config, want string) {
		t.Helper()
		_, err := New(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%+v) error = %v, want %q", cfg, err, want)
		}
	}
	f(Config{IntelLists: []string{bad}}, "cannot parse intel list "+bad+" line 2: \"1.2.3.400\"")
	f(Config{CountryDB: filepath.Join(dir, "none.mmdb")}, "cannot open country database")
	f(Config{IntelLists: []string{filepath.Join(dir, "missing.txt")}}, "cannot open intel list")
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	f(Config{IntelLists: []string{srv.URL + "/x"}}, "HTTP 404")
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer slow.Close()
	f(Config{IntelLists: []string{slow.URL}, FetchTimeout: 50 * time.Millisecond}, "deadline exceeded")
}

func TestEnrichBatch(t *testing.T) {
	e, err := New(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	e.AddList("bad", strings.NewReader("203.0.113.9\n"), "inline")
	var r flowlog.Record
	var b flowlog.Batch
	b.Reset(flowlog.DefaultLayout)
	r.SetStr(flowlog.SrcAddr, "203.0.113.9")
	b.AppendRecord(&r, 1)
	r.SetNull(flowlog.SrcAddr)
	b.AppendRecord(&r, 2)
	r.SetStr(flowlog.SrcAddr, "10.1.1.1")
	b.AppendRecord(&r, 3)
	out := e.EnrichBatch(&b, flowlog.SrcAddr, nil)
	got := fmt.Sprint(out[0].Intel, "|", out[1].Intel, "|", out[2].Intel, "|", len(out))
	if got != "bad|||3" {
		t.Errorf("EnrichBatch = %s, want bad|||3", got)
	}
}

// benchData is a batch of records with public addresses spread over the
// databases' networks, half of them IPv4 in the intel list's space.
func benchSetup(b *testing.B) (*Enricher, *flowlog.Batch, []byte) {
	rng := rand.New(rand.NewPCG(1, 2))
	var nets []string
	for i := 0; i < 20000; i++ {
		nets = append(nets, fmt.Sprintf("%d.%d.%d.0/24", 11+rng.IntN(180), rng.IntN(256), rng.IntN(256)))
	}
	country, asn := testDBs(b, nets)
	var list strings.Builder
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&list, "%d.%d.%d.%d\n", 11+rng.IntN(180), rng.IntN(256), rng.IntN(256), rng.IntN(256))
	}
	e, err := New(context.Background(), Config{CountryDB: country, ASNDB: asn})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.AddList("blocklist", strings.NewReader(list.String()), "bench"); err != nil {
		b.Fatal(err)
	}
	var text bytes.Buffer
	text.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	for i := 0; i < 8192; i++ {
		fmt.Fprintf(&text, "2 111122223333 eni-0a1b2c3d4e5f %d.%d.%d.%d 10.0.%d.%d %d 443 6 %d %d 1790000000 1790000060 ACCEPT OK\n",
			11+rng.IntN(180), rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(4), rng.IntN(256), 1024+rng.IntN(60000), 1+rng.IntN(50), 60+rng.IntN(100000))
	}
	var batch *flowlog.Batch
	_, err = flowlog.Decode(context.Background(), bytes.NewReader(text.Bytes()), flowlog.DecodeOptions{Object: "bench"}, func(bt *flowlog.Batch) error {
		if batch == nil {
			batch = new(flowlog.Batch)
			batch.Reset(flowlog.DefaultLayout)
			var r flowlog.Record
			for i := 0; i < bt.Len; i++ {
				bt.Record(i, &r)
				batch.AppendRecord(&r, int64(i))
			}
		}
		return nil
	}, nil)
	if err != nil || batch == nil {
		b.Fatal(err)
	}
	return e, batch, text.Bytes()
}

// BenchmarkEnrich measures geo + ASN + 100 000-entry intel lookups of both
// addresses of each record, per record.
func BenchmarkEnrich(b *testing.B) {
	e, batch, _ := benchSetup(b)
	var src, dst []Info
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src = e.EnrichBatch(batch, flowlog.SrcAddr, src)
		dst = e.EnrichBatch(batch, flowlog.DstAddr, dst)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch.Len), "ns/record")
}

// BenchmarkDecodeEnrichRatio decodes the same text with and without
// enrichment of both addresses and reports the ratio of their costs: the
// decode stage is the part of ingest enrichment is added to.
func BenchmarkDecodeEnrichRatio(b *testing.B) {
	e, _, text := benchSetup(b)
	run := func(enrich bool) time.Duration {
		var src, dst []Info
		start := time.Now()
		_, err := flowlog.Decode(context.Background(), bytes.NewReader(text), flowlog.DecodeOptions{Object: "bench"}, func(bt *flowlog.Batch) error {
			if enrich {
				src = e.EnrichBatch(bt, flowlog.SrcAddr, src)
				dst = e.EnrichBatch(bt, flowlog.DstAddr, dst)
			}
			return nil
		}, nil)
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	run(true) // warm the record caches
	var plain, enriched time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		plain += run(false)
		enriched += run(true)
	}
	b.ReportMetric(float64(enriched)/float64(plain), "ratio")
	b.ReportMetric(float64(plain.Nanoseconds())/float64(b.N*8192), "ns/record-plain")
	b.ReportMetric(float64(enriched.Nanoseconds())/float64(b.N*8192), "ns/record-enriched")
}
