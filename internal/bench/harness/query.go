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

// engine is one side of an interleaved query comparison.
type engine struct {
	name   string
	run    func() (int64, error) // runs the query, returns the rows read
	server serverCPU             // local server processes whose CPU time counts too
}

// engineTimes is what interleave measured of one engine.
type engineTimes struct {
	Wall, CPU []float64 // seconds per run; CPU: this process, plus the servers' when ServerOK
	Rows      int64
	ServerOK  bool
}

// interleave runs the engines' queries in turn, the first of each round
// rotating: at least runs times each, and more (up to maxQueryRuns) until
// each engine has run for minTime, so that the median of a query of a few
// milliseconds rests on enough samples to stay put on a busy machine. Every
// run of every engine must return the same number of rows.
func interleave(ctx context.Context, engines []engine, runs int, minTime time.Duration) ([]engineTimes, error) {
	out := make([]engineTimes, len(engines))
	spent := make([]float64, len(engines))
	for i := range out {
		out[i].Rows = -1
		out[i].ServerOK = true
	}
	least := func() float64 {
		m := spent[0]
		for _, s := range spent[1:] {
			m = min(m, s)
		}
		return m
	}
	for i := 0; i < maxQueryRuns && (i < runs || least() < minTime.Seconds()); i++ {
		for k := range engines {
			who := (i + k) % len(engines)
			e, et := &engines[who], &out[who]
			s0, sok0 := e.server.cpu()
			t0, c0 := time.Now(), cpuTime()
			n, err := e.run()
			d, cpu := time.Since(t0).Seconds(), (cpuTime() - c0).Seconds()
			s1, sok1 := e.server.cpu()
			if err != nil {
				return nil, fmt.Errorf("cannot run seed query on %s: %w", e.name, err)
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if et.Rows >= 0 && et.Rows != n {
				return nil, fmt.Errorf("cannot trust seed query: %s returned %d rows, then %d", e.name, et.Rows, n)
			}
			et.Rows = n
			if sok0 && sok1 {
				cpu += (s1 - s0).Seconds()
			} else {
				et.ServerOK = false
			}
			spent[who] += d
			et.Wall = append(et.Wall, d)
			et.CPU = append(et.CPU, cpu)
		}
	}
	for i := range out[1:] {
		if out[i+1].Rows != out[0].Rows {
			return nil, fmt.Errorf("cannot trust seed query: %s returned %d rows, %s %d", engines[0].name, out[0].Rows, engines[i+1].name, out[i+1].Rows)
		}
	}
	return out, nil
}

// seedQuery times one seed query: flowhunt (query.Translate, then the
// sandboxed Reader over the store's Parquet segments) and the anchor (the
// query translated for a plain DuckDB table of the AWS columns, as
// read_csv loaded it: no rewrites onto flowhunt's derived columns),
// interleaved.
func seedQuery(ctx context.Context, fh, native store.Querier, seed string, runs int, minTime time.Duration) (queryTimes, error) {
	var qt queryTimes
	tr, err := query.Translate(seed, query.DialectDuckDBPlain)
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
	et, err := interleave(ctx, []engine{{name: "flowhunt", run: flowhunt}, {name: "the native table", run: anchor}}, runs, minTime)
	if err != nil {
		return qt, err
	}
	qt.Flowhunt, qt.FlowhuntCPU = et[0].Wall, et[0].CPU
	qt.Native, qt.NativeCPU = et[1].Wall, et[1].CPU
	qt.Rows = et[0].Rows
	return qt, nil
}
