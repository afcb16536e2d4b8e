package querytest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
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
// by DuckDB on a native in-memory table of the same rows (default settings),
// interleaved, FLOWHUNT_BENCH_RUNS rounds (default 5), and times a one-day
// --since style query. It needs an ingested data directory:
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
	if v, err := strconv.Atoi(os.Getenv("FLOWHUNT_BENCH_RUNS")); err == nil && v > 0 {
		runs = v
	}
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
		return medianOf(ds), rows
	}
	// The two engines run in turn, the first of each round alternating, so
	// both meet the same phases of the shared machine's load; CPU is this
	// process's (DuckDB's threads included).
	t.Logf("%-4s %10s %10s %7s %10s %10s %7s %10s", "q", "flowhunt", "native", "ratio", "cpu fh", "cpu nat", "ratio", "rows")
	for i, q := range seedQueries {
		tr, _ := query.Translate(q, query.DialectDuckDB)
		engines := []func() (int, error){
			func() (int, error) {
				res, err := query.Run(ctx, rd, q, lim)
				if err != nil {
					return 0, err
				}
				return len(res.Rows), nil
			},
			func() (int, error) {
				res, err := query.Run(ctx, querier{native}, tr, lim)
				if err != nil {
					return 0, err
				}
				return len(res.Rows), nil
			},
		}
		var wall, cpu [2][]time.Duration
		var rows [2]int
		for r := 0; r < runs; r++ {
			for k := range engines {
				e := (r + k) % 2
				c0, t0 := processCPU(), time.Now()
				n, err := engines[e]()
				if err != nil {
					t.Fatal(err)
				}
				wall[e] = append(wall[e], time.Since(t0))
				cpu[e] = append(cpu[e], processCPU()-c0)
				rows[e] = n
			}
		}
		if rows[0] != rows[1] {
			t.Errorf("q%d: flowhunt returned %d rows, native %d", i+1, rows[0], rows[1])
		}
		fw, nw, fc, nc := medianOf(wall[0]), medianOf(wall[1]), medianOf(cpu[0]), medianOf(cpu[1])
		t.Logf("q%-3d %10s %10s %6.2fx %10s %10s %6.2fx %10d", i+1, fw.Round(time.Millisecond), nw.Round(time.Millisecond), float64(fw)/float64(nw),
			fc.Round(time.Millisecond), nc.Round(time.Millisecond), float64(fc)/float64(nc), rows[0])
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

func medianOf(ds []time.Duration) time.Duration {
	ds = append([]time.Duration(nil), ds...)
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

// processCPU is the user and system time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
