package clickhouse

import (
	"context"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/query"
	"github.com/flowhunt/flowhunt/internal/store"

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
	sameColumns(t, dd, ch)
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

// sameColumns compares every derived column (and a digest of the AWS ones)
// on both stores: the cluster's rows are encoded by flowhunt (RowBinary),
// the embedded store's by DuckDB.
func sameColumns(t *testing.T, dd, ch store.Backend) {
	t.Helper()
	open := func(b store.Backend) store.Reader {
		r, err := b.OpenReader(context.Background(), store.ReaderOptions{Setup: query.DuckDBSetup()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	rd, rc := open(dd), open(ch)
	for _, q := range []string{
		"SELECT count(*), count(ts_start), count(ts_end), sum(src_ip4), sum(dst_ip4), count(src_ip6), count(dst_ip6), sum(source_line), count(DISTINCT source_object), count(DISTINCT ingest_batch) FROM vpc_flow_logs",
		"SELECT direction, count(*), sum(bytes), sum(packets), sum(srcport), count(tcp_flags), count(DISTINCT interface_id), count(DISTINCT account_id) FROM vpc_flow_logs GROUP BY direction",
		"SELECT date, min(ts_start), max(ts_end), min(start), max(\"end\") FROM vpc_flow_logs GROUP BY date",
		"SELECT srcaddr, hex(src_ip6), dst_ip4 FROM vpc_flow_logs WHERE src_ip6 IS NOT NULL OR src_ip4 < 200 ORDER BY source_object, source_line LIMIT 50",
		"SELECT log_status, action, count(*), count(srcaddr), count(protocol) FROM vpc_flow_logs GROUP BY log_status, action",
	} {
		got, want := storetest.Rows(t, rc, q), storetest.Rows(t, rd, q)
		if len(want) == 0 {
			t.Errorf("%s: no rows on duckdb", q)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n clickhouse: %q\n duckdb:     %q", q, got, want)
		}
	}
}
