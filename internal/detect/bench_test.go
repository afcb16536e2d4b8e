package detect_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/simulate"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

// BenchmarkHunt runs every detector over about 1 M and 10 M simulated
// records and reports seconds per million records, so growth with volume
// is visible. Generating and ingesting 10 M records takes minutes, so it
// runs only with FLOWHUNT_BENCH_HUNT=1; the data is kept in
// $TMPDIR/flowhunt-bench-hunt-<scale> for later runs.
//
//	FLOWHUNT_BENCH_HUNT=1 go test ./internal/detect -run '^$' -bench Hunt -benchtime 1x
func BenchmarkHunt(b *testing.B) {
	if os.Getenv("FLOWHUNT_BENCH_HUNT") == "" {
		b.Skip("set FLOWHUNT_BENCH_HUNT=1 (generates and ingests 11 M records)")
	}
	for _, scale := range []float64{1, 10} {
		b.Run(fmt.Sprintf("scale%g", scale), func(b *testing.B) {
			ctx := context.Background()
			dir := filepath.Join(os.TempDir(), fmt.Sprintf("flowhunt-bench-hunt-%g", scale))
			st, n := benchStore(b, ctx, dir, scale)
			b.ResetTimer()
			var took time.Duration
			for i := 0; i < b.N; i++ {
				rd, err := st.Reader(ctx, duckdb.ReaderOptions{})
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				fs, err := detect.Hunt(ctx, rd, detect.Config{})
				took += time.Since(t0)
				rd.Close()
				if err != nil {
					b.Fatal(err)
				}
				if len(fs) == 0 {
					b.Fatal("no findings")
				}
			}
			perM := took.Seconds() / float64(b.N) / (float64(n) / 1e6)
			b.ReportMetric(perM, "s/Mrecords")
			b.ReportMetric(float64(n), "records")
		})
	}
}

func benchStore(b *testing.B, ctx context.Context, dir string, scale float64) (*duckdb.Store, int64) {
	b.Helper()
	data := filepath.Join(dir, "data")
	st, err := duckdb.Open(ctx, duckdb.Config{Dir: data})
	if err != nil {
		b.Fatal(err)
	}
	count := func() int64 {
		rd, err := st.Reader(ctx, duckdb.ReaderOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer rd.Close()
		rows, err := rd.Query(ctx, "SELECT count(*) FROM vpc_flow_logs")
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		var n int64
		for rows.Next() {
			if err := rows.Scan(&n); err != nil {
				b.Fatal(err)
			}
		}
		return n
	}
	if n := count(); n > 0 {
		return st, n
	}
	gen := filepath.Join(dir, "gen")
	if _, err := simulate.Generate(ctx, simulate.Config{Seed: 1, Scale: scale}, gen); err != nil {
		b.Fatal(err)
	}
	src, err := source.Open(ctx, filepath.Join(gen, "s3"), source.Config{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.Ingest(ctx, []source.Source{src}, duckdb.IngestOptions{}); err != nil {
		b.Fatal(err)
	}
	os.RemoveAll(gen)
	return st, count()
}
