package detect_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/simulate"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

// TestHuntBudget hunts a small simulated data set twice: as is, and under
// a Budget (memory limit, spill directory, one thread) with the grouped
// DISTINCT aggregates cut into passes. The reader must report the budget's
// settings, and the findings must be the same, byte for byte.
func TestHuntBudget(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	gen := filepath.Join(dir, "gen")
	sum, err := simulate.Generate(ctx, simulate.Config{Seed: 7, Scale: 0.1, NoFormats: true}, gen)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	st, err := duckdb.Open(ctx, duckdb.Config{Dir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	src, err := source.Open(ctx, filepath.Join(gen, "s3"), source.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ingest(ctx, []source.Source{src}, duckdb.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	hunt := func(setup []string, cfg detect.Config) []byte {
		t.Helper()
		rd, err := st.Reader(ctx, duckdb.ReaderOptions{Setup: setup})
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		if len(setup) > 0 {
			rows, err := rd.Query(ctx, "SELECT current_setting('memory_limit'), current_setting('temp_directory'), current_setting('threads')")
			if err != nil {
				t.Fatal(err)
			}
			var lim, tmp string
			var threads int64
			for rows.Next() {
				if err := rows.Scan(&lim, &tmp, &threads); err != nil {
					t.Fatal(err)
				}
			}
			rows.Close()
			if lim != "64.0 MiB" || tmp != filepath.Join(data, "spill") || threads != 1 {
				t.Errorf("reader settings: memory_limit %q, temp_directory %q, threads %d; want 64.0 MiB, %s, 1", lim, tmp, threads, filepath.Join(data, "spill"))
			}
		}
		var passes []string
		cfg.Observe = func(r detect.DetectorRun) { passes = append(passes, r.Name) }
		found, err := detect.Hunt(ctx, rd, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(passes) == 0 {
			t.Fatal("Observe was not called")
		}
		var b bytes.Buffer
		if err := detect.WriteJSONL(&b, found); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	want := hunt(nil, detect.Config{})
	if !bytes.Contains(want, []byte(`"detector":"brute_force"`)) || !bytes.Contains(want, []byte(`"detector":"dos_inbound"`)) {
		t.Fatalf("the data set has no brute_force or dos_inbound finding to compare:\n%s", want)
	}
	b := detect.Budget{MemoryLimit: 64 << 20, TempDir: filepath.Join(data, "spill"), Threads: 1}
	// A pass per fifth of the records: five passes of the DISTINCT queries.
	got := hunt(b.Setup(), detect.Config{PassRecords: sum.Records/5 + 1})
	if !bytes.Equal(got, want) {
		t.Errorf("findings under the budget differ:\n got %d bytes\nwant %d bytes", len(got), len(want))
	}
}
