package clickhouse

import (
	"context"
	"testing"

	"github.com/flowhunt/flowhunt/internal/store/duckdb"
	"github.com/flowhunt/flowhunt/internal/store/storetest"
)

// TestSameFindings runs the full hunt (every detector) over the same data
// on the embedded store and on the cluster and compares the findings:
// ids, severities, scores, time spans, counterparts, ports and titles.
func TestSameFindings(t *testing.T) {
	d := storetest.Generate(t)
	ch := openFresh(t)
	storetest.Ingest(t, ch, d)
	dd, err := duckdb.Open(context.Background(), duckdb.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Ingest(t, dd, d)
	want, err := storetest.Findings(t, dd, d)
	if err != nil {
		t.Fatalf("hunt on duckdb: %v", err)
	}
	got, err := storetest.Findings(t, ch, d)
	if err != nil {
		t.Errorf("hunt on clickhouse: %v", err)
	}
	if len(want) == 0 {
		t.Fatal("no findings on duckdb: the comparison would prove nothing")
	}
	g := map[string]bool{}
	for _, s := range got {
		g[s] = true
	}
	w := map[string]bool{}
	for _, s := range want {
		w[s] = true
	}
	for _, s := range want {
		if !g[s] {
			t.Errorf("only on duckdb: %s", s)
		}
	}
	for _, s := range got {
		if !w[s] {
			t.Errorf("only on clickhouse: %s", s)
		}
	}
	t.Logf("%d findings on duckdb, %d on clickhouse", len(want), len(got))
}
