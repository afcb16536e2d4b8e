package harness

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/flowhunt/flowhunt/internal/query"
	"github.com/flowhunt/flowhunt/internal/store"
)

// SeedQueries are the four queries of the mission's seed
// (/work/shared/mission/seed.txt), verbatim: a bare `end` column, HAVING
// on an alias, camelCase column names.
var SeedQueries = []string{
	"SELECT srcAddr, dstAddr, action, bytes, start, end\nFROM vpc_flow_logs\nWHERE action = 'REJECT'\nAND srcAddr LIKE '203.%';",
	"SELECT srcAddr, dstAddr, SUM(bytes) AS total_bytes\nFROM vpc_flow_logs\nWHERE action = 'ACCEPT'\nGROUP BY srcAddr, dstAddr\nHAVING total_bytes > 100000000;",
	"SELECT srcAddr, dstAddr, protocol, bytes, start, end\nFROM vpc_flow_logs\nWHERE srcAddr LIKE '10.0.%' AND dstAddr LIKE '10.0.%';",
	"SELECT srcAddr, dstAddr, COUNT(*) AS failed_attempts\nFROM vpc_flow_logs\nWHERE action = 'REJECT'\nGROUP BY srcAddr, dstAddr\nHAVING failed_attempts > 10;",
}

// maxQueryRuns caps the runs of one seed query per engine.
const maxQueryRuns = 50

// nativeQuerier runs SQL on a plain DuckDB database (the anchor).
type nativeQuerier struct{ db *sql.DB }

func (n nativeQuerier) Query(ctx context.Context, q string, args ...any) (store.Rows, error) {
	return n.db.QueryContext(ctx, q, args...)
}

// runQuery runs sql on q and reads every row through database/sql into
// reused buffers, as a client that consumes the result would, and returns
// the row count. Both flowhunt and the anchor pay this same cost.
func runQuery(ctx context.Context, q store.Querier, sqlText string) (int64, error) {
	rows, err := q.Query(ctx, sqlText)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// queryTimes is one seed query's measurements.
type queryTimes struct {
	Flowhunt, Native       []float64 // wall seconds
	FlowhuntCPU, NativeCPU []float64 // CPU seconds of the process (DuckDB's threads included)
	Rows                   int64
}

// seedQuery times one seed query: flowhunt (query.Translate, then the
// sandboxed Reader over the store's Parquet segments) and the anchor (the
// translated SQL on the native table), interleaved, the first of each pair
// alternating: at least runs times each, and more (up to maxQueryRuns)
// until each engine has run for minTime, so that the median of a query of
// a few milliseconds rests on enough samples to stay put on a busy machine.
func seedQuery(ctx context.Context, fh, native store.Querier, seed string, runs int, minTime time.Duration) (queryTimes, error) {
	var qt queryTimes
	tr, err := query.Translate(seed, query.DialectDuckDB)
	if err != nil {
		return qt, fmt.Errorf("cannot translate seed query: %w", err)
	}
	flowhunt := func() (int64, error) {
		t, err := query.Translate(seed, query.DialectDuckDB) // part of what flowhunt does per query
		if err != nil {
			return 0, err
		}
		return runQuery(ctx, fh, t)
	}
	anchor := func() (int64, error) { return runQuery(ctx, native, tr) }
	rows := [2]int64{-1, -1} // flowhunt, native
	var spent [2]float64
	for i := 0; i < maxQueryRuns && (i < runs || min(spent[0], spent[1]) < minTime.Seconds()); i++ {
		for k := 0; k < 2; k++ {
			who := (i + k) % 2 // alternate which engine goes first
			f, name := flowhunt, "flowhunt"
			if who == 1 {
				f, name = anchor, "the native table"
			}
			t0, c0 := time.Now(), cpuTime()
			n, err := f()
			d, cpu := time.Since(t0).Seconds(), (cpuTime() - c0).Seconds()
			if err != nil {
				return qt, fmt.Errorf("cannot run seed query on %s: %w", name, err)
			}
			if rows[who] >= 0 && rows[who] != n {
				return qt, fmt.Errorf("cannot trust seed query: %s returned %d rows, then %d", name, rows[who], n)
			}
			rows[who] = n
			spent[who] += d
			if who == 0 {
				qt.Flowhunt = append(qt.Flowhunt, d)
				qt.FlowhuntCPU = append(qt.FlowhuntCPU, cpu)
			} else {
				qt.Native = append(qt.Native, d)
				qt.NativeCPU = append(qt.NativeCPU, cpu)
			}
		}
	}
	if rows[0] != rows[1] {
		return qt, fmt.Errorf("cannot trust seed query: flowhunt returned %d rows, the native table %d", rows[0], rows[1])
	}
	qt.Rows = rows[0]
	return qt, nil
}
