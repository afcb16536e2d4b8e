// Package storetest is the contract every store.Backend passes: the same
// simulated flow logs in, the same counts, seed-query answers, time-range
// views, side tables and retention out. Answers are checked against an
// oracle computed in Go from the same files, so both stores are held to
// the data, not only to each other.
package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/query"
	"github.com/flowhunt/flowhunt/internal/simulate"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store"
)

// Data is a small simulated data set shared by the tests of a process.
type Data struct {
	Dir     string // the generator's output
	S3      string // DIR/s3: the flow log objects
	Start   time.Time
	End     time.Time
	Records int64
	Flows   []Flow // the oracle: every record's fields the checks use
}

// Flow is one record as the oracle sees it.
type Flow struct {
	Src, Dst, Action string
	Bytes, Start     int64
	HasStart         bool
}

var (
	dataOnce sync.Once
	data     *Data
	dataErr  error
)

// Generate returns the shared data set: 6 simulated hours at a small scale
// (about 40 000 records), generated once per process under a temp dir.
func Generate(t testing.TB) *Data {
	t.Helper()
	dataOnce.Do(func() {
		dir, err := os.MkdirTemp("", "flowhunt-storetest-")
		if err != nil {
			dataErr = err
			return
		}
		cfg := simulate.Config{Seed: 7, Duration: 6 * time.Hour, Scale: 0.1, NoFormats: true, NoSideFiles: true}
		sum, err := simulate.Generate(context.Background(), cfg, dir)
		if err != nil {
			dataErr = err
			return
		}
		_ = cfg.Validate()
		d := &Data{Dir: dir, S3: filepath.Join(dir, "s3"), Start: cfg.Start, End: cfg.End(), Records: sum.Records}
		dataErr = d.loadOracle()
		data = d
	})
	if dataErr != nil {
		t.Fatalf("cannot generate test data: %v", dataErr)
	}
	return data
}

func (d *Data) loadOracle() error {
	ctx := context.Background()
	src, err := source.Open(ctx, d.S3, source.Config{})
	if err != nil {
		return err
	}
	objs, err := src.List(ctx)
	if err != nil {
		return err
	}
	for _, o := range objs {
		rc, err := src.Open(ctx, o)
		if err != nil {
			return err
		}
		_, err = flowlog.Decode(ctx, rc, flowlog.DecodeOptions{Object: o.Key}, func(b *flowlog.Batch) error {
			for i := 0; i < b.Len; i++ {
				f := Flow{Src: string(b.Str[flowlog.SrcAddr].Get(i)), Dst: string(b.Str[flowlog.DstAddr].Get(i)), Action: string(b.Str[flowlog.Action].Get(i))}
				if b.Null[flowlog.SrcAddr][i] {
					f.Src = ""
				}
				if b.Null[flowlog.DstAddr][i] {
					f.Dst = ""
				}
				if b.Null[flowlog.Action][i] {
					f.Action = ""
				}
				if !b.Null[flowlog.Bytes][i] {
					f.Bytes = b.Int[flowlog.Bytes][i]
				}
				if !b.Null[flowlog.Start][i] {
					f.Start, f.HasStart = b.Int[flowlog.Start][i], true
				}
				d.Flows = append(d.Flows, f)
			}
			return nil
		}, func(flowlog.Reject) error { return nil })
		rc.Close()
		if err != nil {
			return fmt.Errorf("cannot decode %s: %w", o.Key, err)
		}
	}
	return nil
}

// Ingest stores the data set's objects into b.
func Ingest(t testing.TB, b store.Backend, d *Data) store.IngestSummary {
	t.Helper()
	ctx := context.Background()
	src, err := source.Open(ctx, d.S3, source.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := b.IngestSources(ctx, []source.Source{src}, store.IngestOptions{})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return sum
}

// Rows runs a flowhunt query (through query.Run, as the verbs do) and
// returns its rows rendered as sorted text, so that stores that type
// numbers differently compare alike.
func Rows(t testing.TB, r store.Querier, sql string) []string {
	t.Helper()
	res, err := query.Run(context.Background(), r, sql, query.Limits{MaxRows: -1, Timeout: time.Minute})
	if err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	out := make([]string, len(res.Rows))
	for i, row := range res.Rows {
		var parts []string
		for _, v := range row {
			parts = append(parts, Text(v))
		}
		out[i] = strings.Join(parts, "|")
	}
	sort.Strings(out)
	return out
}

// Text renders a value the same way whichever store returned it.
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
		return fmt.Sprintf("%.6g", x)
	case bool:
		if x {
			return "1"
		}
		return "0"
	}
	return fmt.Sprint(v)
}

// Count runs a count query and returns the number.
func Count(t testing.TB, r store.Querier, sql string) int64 {
	t.Helper()
	rows := Rows(t, r, sql)
	if len(rows) != 1 {
		t.Fatalf("query %q: %d rows, want 1", sql, len(rows))
	}
	var n int64
	fmt.Sscan(rows[0], &n)
	return n
}

// Seed is the seed's four queries (mission/seed.txt), verbatim.
var Seed = []string{
	"SELECT srcAddr, dstAddr, action, bytes, start, end\nFROM vpc_flow_logs\nWHERE action = 'REJECT'\nAND srcAddr LIKE '203.%';",
	"SELECT srcAddr, dstAddr, SUM(bytes) AS total_bytes\nFROM vpc_flow_logs\nWHERE action = 'ACCEPT'\nGROUP BY srcAddr, dstAddr\nHAVING total_bytes > 100000000;",
	"SELECT srcAddr, dstAddr, protocol, bytes, start, end\nFROM vpc_flow_logs\nWHERE srcAddr LIKE '10.0.%' AND dstAddr LIKE '10.0.%';",
	"SELECT srcAddr, dstAddr, COUNT(*) AS failed_attempts\nFROM vpc_flow_logs\nWHERE action = 'REJECT'\nGROUP BY srcAddr, dstAddr\nHAVING failed_attempts > 10;",
}

// Run checks b against the contract. open returns a new, empty backend;
// Run closes it.
func Run(t *testing.T, open func(t *testing.T) store.Backend) {
	d := Generate(t)
	ctx := context.Background()
	b := open(t)
	defer b.Close()

	t.Run("ingest", func(t *testing.T) {
		sum := Ingest(t, b, d)
		if sum.Records != d.Records || sum.Ingested == 0 || sum.Ingested != sum.Listed {
			t.Fatalf("first ingest: %+v, want %d records from every listed object", sum, d.Records)
		}
		again := Ingest(t, b, d)
		if again.Ingested != 0 || again.Unchanged != sum.Listed || again.Records != 0 {
			t.Fatalf("second ingest stored again: %+v", again)
		}
		r := reader(t, b, store.ReaderOptions{})
		if n := Count(t, r, "SELECT count(*) FROM vpc_flow_logs"); n != d.Records {
			t.Fatalf("count(*) = %d after two ingests, want %d", n, d.Records)
		}
		if n := Count(t, r, "SELECT count(*) FROM ingested_objects"); n != int64(sum.Listed) {
			t.Errorf("ingested_objects has %d rows, want %d", n, sum.Listed)
		}
	})

	t.Run("seed", func(t *testing.T) {
		r := reader(t, b, store.ReaderOptions{})
		want := d.seedOracle()
		for i, q := range Seed {
			got := Rows(t, r, q)
			w := want[i]
			if i == 0 || i == 2 {
				// Compare the row count and a digest of the first columns.
				if len(got) != len(w) {
					t.Errorf("seed q%d: %d rows, want %d", i+1, len(got), len(w))
				}
				continue
			}
			if diff := diffLines(got, w); diff != "" {
				t.Errorf("seed q%d (-got +want):\n%s", i+1, diff)
			}
		}
	})

	t.Run("time range", func(t *testing.T) {
		from, to := d.Start.Add(time.Hour), d.Start.Add(3*time.Hour+30*time.Minute)
		r := reader(t, b, store.ReaderOptions{From: from, To: to})
		var want int64
		for _, f := range d.Flows {
			if !f.HasStart || (f.Start >= from.Unix() && f.Start < to.Unix()) {
				want++
			}
		}
		if n := Count(t, r, "SELECT count(*) FROM vpc_flow_logs"); n != want {
			t.Errorf("count in [%s, %s) = %d, want %d", from, to, n, want)
		}
		if n := Count(t, r, "SELECT count(*) FROM vpc_flow_logs AS v WHERE v.action = 'REJECT'"); n != countIf(d, from, to, func(f Flow) bool { return f.Action == "REJECT" }) {
			t.Errorf("REJECTs in range = %d, want %d", n, countIf(d, from, to, func(f Flow) bool { return f.Action == "REJECT" }))
		}
	})

	t.Run("side tables", func(t *testing.T) {
		cols := []store.Column{{Name: "id", Type: "VARCHAR"}, {Name: "n", Type: "BIGINT"}, {Name: "seen", Type: "TIMESTAMP"}, {Name: "score", Type: "DOUBLE"}}
		at := time.Date(2026, 11, 1, 2, 3, 4, 0, time.UTC)
		rows := [][]any{{"a'b\\c\td", int64(1), at, 0.5}, {"x", nil, nil, nil}}
		if err := b.PutTable(ctx, "contract_side", cols, rows, true); err != nil {
			t.Fatal(err)
		}
		if err := b.PutTable(ctx, "contract_side", cols, rows[:1], false); err != nil {
			t.Fatal(err)
		}
		r := reader(t, b, store.ReaderOptions{})
		got := Rows(t, r, "SELECT id, n, seen, score FROM contract_side")
		want := []string{"a'b\\c\td|1|2026-11-01T02:03:04Z|0.5", "a'b\\c\td|1|2026-11-01T02:03:04Z|0.5", "x|NULL|NULL|NULL"}
		if diff := diffLines(got, want); diff != "" {
			t.Errorf("side table after replace and append (-got +want):\n%s", diff)
		}
		if err := b.PutTable(ctx, "contract_side", cols[:1], [][]any{{"only"}}, false); err == nil {
			t.Error("appending with other columns succeeded")
		}
		if err := b.PutTable(ctx, "contract_side", cols[:1], [][]any{{"only"}}, true); err != nil {
			t.Fatal(err)
		}
		r2 := reader(t, b, store.ReaderOptions{})
		if got := Rows(t, r2, "SELECT * FROM contract_side"); len(got) != 1 || got[0] != "only" {
			t.Errorf("replaced side table = %q, want [only]", got)
		}
	})

	t.Run("expire", func(t *testing.T) {
		// The data spans one day; expiring before the next drops it all.
		day := d.Start.UTC().Truncate(24 * time.Hour)
		got, err := b.Expire(ctx, day)
		if err != nil || len(got) != 0 {
			t.Fatalf("Expire(%s) = %v, %v; want nothing dropped", day, got, err)
		}
		got, err = b.Expire(ctx, day.Add(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[0] != day.Format("2006-01-02") {
			t.Errorf("Expire dropped %v, want %s first", got, day.Format("2006-01-02"))
		}
		r := reader(t, b, store.ReaderOptions{})
		if n := Count(t, r, "SELECT count(*) FROM vpc_flow_logs"); n != 0 {
			t.Errorf("%d records left after expiring every day", n)
		}
	})
}

func countIf(d *Data, from, to time.Time, pred func(Flow) bool) int64 {
	var n int64
	for _, f := range d.Flows {
		if (!f.HasStart || (f.Start >= from.Unix() && f.Start < to.Unix())) && pred(f) {
			n++
		}
	}
	return n
}

func reader(t testing.TB, b store.Backend, opts store.ReaderOptions) store.Reader {
	t.Helper()
	opts.Setup = query.DuckDBSetup()
	r, err := b.OpenReader(context.Background(), opts)
	if err != nil {
		t.Fatalf("open reader: %v", err)
	}
	if c, ok := t.(interface{ Cleanup(func()) }); ok {
		c.Cleanup(func() { r.Close() })
	}
	return r
}

// seedOracle answers the seed queries from the decoded records.
func (d *Data) seedOracle() [4][]string {
	var out [4][]string
	type pair struct{ s, d string }
	sums := map[pair]int64{}
	fails := map[pair]int64{}
	nulls := func(s string) string {
		if s == "" {
			return "NULL"
		}
		return s
	}
	for _, f := range d.Flows {
		if f.Action == "REJECT" && strings.HasPrefix(f.Src, "203.") {
			out[0] = append(out[0], f.Src)
		}
		if f.Action == "ACCEPT" {
			sums[pair{f.Src, f.Dst}] += f.Bytes
		}
		if strings.HasPrefix(f.Src, "10.0.") && strings.HasPrefix(f.Dst, "10.0.") {
			out[2] = append(out[2], f.Src)
		}
		if f.Action == "REJECT" {
			fails[pair{f.Src, f.Dst}]++
		}
	}
	for p, v := range sums {
		if v > 100000000 {
			out[1] = append(out[1], fmt.Sprintf("%s|%s|%d", nulls(p.s), nulls(p.d), v))
		}
	}
	for p, v := range fails {
		if v > 10 {
			out[3] = append(out[3], fmt.Sprintf("%s|%s|%d", nulls(p.s), nulls(p.d), v))
		}
	}
	sort.Strings(out[1])
	sort.Strings(out[3])
	return out
}

// diffLines lists lines only in got (-) or only in want (+).
func diffLines(got, want []string) string {
	g, w := map[string]int{}, map[string]int{}
	for _, s := range got {
		g[s]++
	}
	for _, s := range want {
		w[s]++
	}
	var b strings.Builder
	for _, s := range got {
		if w[s] == 0 {
			fmt.Fprintf(&b, "-%s\n", s)
		} else {
			w[s]--
		}
	}
	for _, s := range want {
		if g[s] == 0 {
			fmt.Fprintf(&b, "+%s\n", s)
		} else {
			g[s]--
		}
	}
	return b.String()
}

// Findings runs every detector over b for the data set's window and
// returns one line per finding, sorted, for comparing stores: id (detector,
// entity, key, first day), severity, score, first and last seen,
// counterparts, ports and title. Detectors named in skip are disabled.
func Findings(t testing.TB, b store.Backend, d *Data, skip ...string) ([]string, error) {
	t.Helper()
	r := reader(t, b, store.ReaderOptions{})
	cfg := detect.Config{From: d.Start, To: d.End, Parallel: 1, Detectors: map[string]detect.DetectorConfig{}}
	off := false
	for _, s := range skip {
		cfg.Detectors[s] = detect.DetectorConfig{Enabled: &off}
	}
	fs, err := detect.Hunt(context.Background(), r, cfg)
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s|%s|%s|%s|%s|%.1f|%s|%s|%v|%v|%s", f.Detector, f.Entity.Value, f.Key, f.ID, f.Severity, f.Score,
			f.FirstSeen.UTC().Format(time.RFC3339), f.LastSeen.UTC().Format(time.RFC3339), f.Counterparts, f.Ports, f.Title))
	}
	sort.Strings(out)
	return out, err
}
