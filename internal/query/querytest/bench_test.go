package querytest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/query"
	"github.com/flowhunt/flowhunt/internal/store"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

// seedQueries are the four queries of the mission's seed, verbatim.
var seedQueries = []string{
	"SELECT srcAddr, dstAddr, action, bytes, start, end\nFROM vpc_flow_logs\nWHERE action = 'REJECT'\nAND srcAddr LIKE '203.%';",
	"SELECT srcAddr, dstAddr, SUM(bytes) AS total_bytes\nFROM vpc_flow_logs\nWHERE action = 'ACCEPT'\nGROUP BY srcAddr, dstAddr\nHAVING total_bytes > 100000000;",
	"SELECT srcAddr, dstAddr, protocol, bytes, start, end\nFROM vpc_flow_logs\nWHERE srcAddr LIKE '10.0.%' AND dstAddr LIKE '10.0.%';",
	"SELECT srcAddr, dstAddr, COUNT(*) AS failed_attempts\nFROM vpc_flow_logs\nWHERE action = 'REJECT'\nGROUP BY srcAddr, dstAddr\nHAVING failed_attempts > 10;",
}

// TestSeedSpeed compares the seed queries run by flowhunt (translation,
// sandboxed Reader over the store's files, row scan) with the same SQL run
// by DuckDB on a native in-memory table of the same rows, and times a
// one-day --since style query. It needs an ingested data directory:
//
//	flowhunt generate --out /tmp/gen --scale 6.7 --no-formats
//	flowhunt ingest --data /tmp/fh10m /tmp/gen/s3
//	FLOWHUNT_BENCH_DATA=/tmp/fh10m go test -run TestSeedSpeed -v ./internal/query/querytest
func TestSeedSpeed(t *testing.T) {
	dir := os.Getenv("FLOWHUNT_BENCH_DATA")
	if dir == "" {
		t.Skip("set FLOWHUNT_BENCH_DATA to an ingested data directory to run the benchmark")
	}
	runs := 5
	ctx := context.Background()
	st, err := duckdb.Open(ctx, duckdb.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := st.Reader(ctx, duckdb.ReaderOptions{Setup: query.DuckDBSetup()})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()

	// The native table: the same rows, loaded once into DuckDB's own format.
	files, _ := filepath.Glob(filepath.Join(dir, "flows", "date=*", "*.parquet"))
	native, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer native.Close()
	var defs []string
	for _, c := range store.FlowColumns() {
		defs = append(defs, fmt.Sprintf("%q %s", c.Name, c.Type))
	}
	if _, err := native.ExecContext(ctx, "CREATE TABLE vpc_flow_logs ("+strings.Join(defs, ", ")+")"); err != nil {
		t.Fatal(err)
	}
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = "'" + f + "'"
	}
	load := time.Now()
	if _, err := native.ExecContext(ctx, "INSERT INTO vpc_flow_logs BY NAME SELECT * FROM read_parquet(["+strings.Join(quoted, ",")+"], union_by_name=true)"); err != nil {
		t.Fatal(err)
	}
	var n int64
	native.QueryRowContext(ctx, "SELECT count(*) FROM vpc_flow_logs").Scan(&n)
	t.Logf("native table: %d rows from %d files in %s", n, len(files), time.Since(load).Round(time.Millisecond))

	lim := query.Limits{Timeout: 10 * time.Minute, MaxRows: -1}
	median := func(f func() (int, error)) (time.Duration, int) {
		var ds []time.Duration
		rows := 0
		for i := 0; i < runs; i++ {
			start := time.Now()
			r, err := f()
			if err != nil {
				t.Fatal(err)
			}
			ds = append(ds, time.Since(start))
			rows = r
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2], rows
	}
	t.Logf("%-4s %10s %10s %7s %10s", "q", "flowhunt", "native", "ratio", "rows")
	for i, q := range seedQueries {
		fh, rowsFH := median(func() (int, error) {
			res, err := query.Run(ctx, rd, q, lim)
			if err != nil {
				return 0, err
			}
			return len(res.Rows), nil
		})
		tr, _ := query.Translate(q, query.DialectDuckDB)
		nat, rowsNat := median(func() (int, error) {
			res, err := query.Run(ctx, querier{native}, tr, lim)
			if err != nil {
				return 0, err
			}
			return len(res.Rows), nil
		})
		if rowsFH != rowsNat {
			t.Errorf("q%d: flowhunt returned %d rows, native %d", i+1, rowsFH, rowsNat)
		}
		t.Logf("q%-3d %10s %10s %6.2fx %10d", i+1, fh.Round(time.Millisecond), nat.Round(time.Millisecond), float64(fh)/float64(nat), rowsFH)
	}

	// A one-day query: the Reader opened for that day reads only its files.
	m, err := st.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var day string
	for _, s := range m.Segments {
		if s.Kind == duckdb.KindFlows && (day == "" || s.Date > day) {
			day = s.Date
		}
	}
	from, _ := time.Parse("2006-01-02", day)
	dayRd, err := st.Reader(ctx, duckdb.ReaderOptions{From: from, To: from.Add(24 * time.Hour), Setup: query.DuckDBSetup()})
	if err != nil {
		t.Fatal(err)
	}
	defer dayRd.Close()
	one, rows := median(func() (int, error) {
		res, err := query.Run(ctx, dayRd, seedQueries[3], lim)
		if err != nil {
			return 0, err
		}
		return len(res.Rows), nil
	})
	all, _ := median(func() (int, error) {
		res, err := query.Run(ctx, rd, seedQueries[3], lim)
		if err != nil {
			return 0, err
		}
		return len(res.Rows), nil
	})
	res, err := query.Run(ctx, dayRd, "SELECT count(*), min(date), max(date) FROM vpc_flow_logs", lim)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one day (%s): q4 %s (%d rows) vs all days %s; rows seen %v", day, one.Round(time.Millisecond), rows, all.Round(time.Millisecond), res.Rows[0])
}
