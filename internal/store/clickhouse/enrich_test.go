package clickhouse

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
	"github.com/flowhunt/flowhunt/internal/store/storetest"
)

// TestEnrichLikeDuckDB ingests with a threat-intel list on both stores and
// compares the intel_list column: the cluster fills the enrichment columns
// as the embedded store does (source's list first, else the destination's).
func TestEnrichLikeDuckDB(t *testing.T) {
	d := storetest.Generate(t)
	ch := openFresh(t)
	ctx := context.Background()
	dir := t.TempDir()
	// Two lists: one subnet of the VPC (sources and destinations) and the
	// internet's upper half (peers), so both sides of the rule are used.
	lists := map[string]string{"vpc-subnet.txt": "# test\n10.0.1.0/24\n", "upper-half.txt": "128.0.0.0/1\n"}
	var paths []string
	for name, body := range lists {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	e, err := enrich.New(ctx, enrich.Config{IntelLists: paths})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	dd, err := duckdb.Open(ctx, duckdb.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer dd.Close()
	for _, b := range []store.Backend{ch, dd} {
		src, err := source.Open(ctx, d.S3, source.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.IngestSources(ctx, []source.Source{src}, store.IngestOptions{Enrich: e}); err != nil {
			t.Fatal(err)
		}
	}
	q := "SELECT intel_list, count(*), count(src_country), count(dst_asn) FROM vpc_flow_logs GROUP BY intel_list"
	rc, err := ch.OpenReader(ctx, store.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rd, err := dd.OpenReader(ctx, store.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	got, want := storetest.Rows(t, rc, q), storetest.Rows(t, rd, q)
	if len(want) < 3 {
		t.Fatalf("duckdb's intel_list has %q: want rows of both lists and NULL", want)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("intel_list per list:\n clickhouse: %q\n duckdb:     %q", got, want)
	}
}
