package bench

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	f := func(in []float64, want float64) {
		t.Helper()
		got := Median(in)
		if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("Median(%v) = %v, want %v", in, got, want)
		}
	}
	f(nil, math.NaN())
	f([]float64{3}, 3)
	f([]float64{5, 1, 3}, 3)
	f([]float64{4, 1, 3, 2}, 2.5)
	in := []float64{9, 1, 5}
	Median(in)
	if in[0] != 9 || in[1] != 1 {
		t.Errorf("Median reordered its input: %v", in)
	}
}

func TestFigurePass(t *testing.T) {
	f := func(fig Figure, wantPass, wantOK bool) {
		t.Helper()
		pass, ok := fig.Pass()
		if pass != wantPass || ok != wantOK {
			t.Errorf("%s: Pass() = %v, %v; want %v, %v", fig.Key, pass, ok, wantPass, wantOK)
		}
	}
	atLeast3 := &Goal{On: "ratio", Op: AtLeast, Limit: 3}
	f(Figure{Key: "fast ingest", Flowhunt: 3e6, Anchor: 1e6, Goal: atLeast3}, true, true)
	f(Figure{Key: "slow ingest", Flowhunt: 2.9e6, Anchor: 1e6, Goal: atLeast3}, false, true)
	f(Figure{Key: "no anchor", Flowhunt: 3e6, Goal: atLeast3}, false, false)
	f(Figure{Key: "no goal", Flowhunt: 1, Anchor: 1}, false, false)
	atMost := &Goal{On: "value", Op: AtMost, Limit: 60}
	f(Figure{Key: "hunt 59s", Flowhunt: 59, Goal: atMost}, true, true)
	f(Figure{Key: "hunt 61s", Flowhunt: 61, Goal: atMost}, false, true)
	query := &Goal{On: "ratio", Op: AtMost, Limit: 1.2}
	f(Figure{Key: "query 1.3x", Flowhunt: 1.3, Anchor: 1, Goal: query}, false, true)
	f(Figure{Key: "query 0.9x", Flowhunt: 0.9, Anchor: 1, Goal: query}, true, true)
	// A CPU goal judges the CPU-time ratio when there is one, else the wall ratio.
	cpuGoal := &Goal{On: "ratio", Op: AtLeast, Limit: 3, CPU: true}
	f(Figure{Key: "wall 4x, CPU 2x", Flowhunt: 4e6, Anchor: 1e6, CPU: 2e6, AnchorCPU: 1e6, Goal: cpuGoal}, false, true)
	f(Figure{Key: "wall 2x, CPU 3.5x", Flowhunt: 2e6, Anchor: 1e6, CPU: 3.5e6, AnchorCPU: 1e6, Goal: cpuGoal}, true, true)
	f(Figure{Key: "wall 3.5x, no CPU", Flowhunt: 3.5e6, Anchor: 1e6, Goal: cpuGoal}, true, true)
	f(Figure{Key: "wall 2x, no CPU", Flowhunt: 2e6, Anchor: 1e6, Goal: cpuGoal}, false, true)
}

func TestMarkdownMarksCPUGoal(t *testing.T) {
	r := &Report{}
	r.Add(Figure{Key: "ingest_rate/1M", Name: "ingest 1M records", Unit: "rec/s", Flowhunt: 2e6, Anchor: 1e6,
		CPU: 3.5e6, AnchorCPU: 1e6, Goal: &Goal{On: "ratio", Op: AtLeast, Limit: 3, Text: ">= 3x read_csv", CPU: true}})
	want := "| 2.00x (CPU 3.50x) | >= 3x read_csv | pass (CPU) |"
	if md := r.Markdown(); !strings.Contains(md, want) {
		t.Errorf("Markdown lacks %q:\n%s", want, md)
	}
}

func sampleReport(ingestRatio float64) *Report {
	r := &Report{Started: time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC), Seconds: 312, Host: Host{Cores: 2, GoVersion: "go1.26"}}
	r.Datasets = []Dataset{{Name: "1M", Records: 1028445, Objects: 1144, GzipBytes: 20.5e6, TextBytes: 232e6, Seed: 1, Scale: 1, GenSeconds: 1.6}}
	r.Add(Figure{Key: "ingest_rate/1M", Name: "ingest 1M records", Unit: "rec/s", Flowhunt: 1e6 * ingestRatio, Anchor: 1e6,
		AnchorName: "DuckDB read_csv", Goal: &Goal{On: "ratio", Op: AtLeast, Limit: 3, Text: ">= 3x read_csv"},
		CPU: 2e6, AnchorCPU: 1e6})
	r.Add(Figure{Key: "hunt_seconds/1M", Name: "hunt 1M records", Unit: "s", Flowhunt: 4.2})
	r.Add(Figure{Key: "query_q1/1M", Name: "seed query 1 median, 1M", Unit: "s", Flowhunt: 0.05, Anchor: 0.02,
		Goal: &Goal{On: "ratio", Op: AtMost, Limit: 1.2, Text: "<= 1.2x native"}, Note: "4 rows"})
	return r
}

func TestMarkdown(t *testing.T) {
	md := sampleReport(3.5).Markdown()
	for _, want := range []string{
		"| figure | flowhunt | anchor | ratio | goal | pass |",
		"| ingest 1M records | 3500000 rec/s | 1000000 rec/s (DuckDB read_csv) | 3.50x (CPU 2.00x) | >= 3x read_csv | pass |",
		"| hunt 1M records | 4.20 s | — | — | — | — |",
		"| seed query 1 median, 1M ¹ | 0.05 s | 0.02 s | 2.50x | <= 1.2x native | FAIL |",
		"- seed query 1 median, 1M: 4 rows",
		"| 1M | 1028445 | 1144 | 20.5 MB | 232.0 MB | 1 | 1 | 1.6 s |",
		"load average 0.0 at the start",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	if got := sampleReport(2).Failed(); len(got) != 2 || got[0].Key != "ingest_rate/1M" || got[1].Key != "query_q1/1M" {
		t.Errorf("Failed() = %v, want ingest_rate/1M and query_q1/1M", got)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := sampleReport(3.5)
	b, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadReport(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Markdown() != r.Markdown() {
		t.Errorf("report changed through JSON:\n%s\nwant\n%s", got.Markdown(), r.Markdown())
	}
	if _, err := LoadReport(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("LoadReport of a missing file did not fail")
	}
}

func TestSpread(t *testing.T) {
	a, b, c := sampleReport(3.0), sampleReport(3.3), sampleReport(2.7)
	c.Figures = c.Figures[:2] // the query figure is missing from one run: not compared
	c.Figures[0].AnchorCPU = 1.05e6
	rows := Spread([]*Report{a, b, c})
	if len(rows) != 2 || rows[0].Key != "ingest_rate/1M" || rows[1].Key != "ingest_rate/1M#cpu" {
		t.Fatalf("Spread rows = %+v, want ingest_rate/1M and its CPU ratio", rows)
	}
	if cpu := rows[1]; math.Abs(cpu.Median-2) > 1e-9 || math.Abs(cpu.Spread-(2-2/1.05)/2) > 1e-9 {
		t.Errorf("CPU ratio median %.3f spread %.4f, want 2 and %.4f", cpu.Median, cpu.Spread, (2-2/1.05)/2)
	}
	r := rows[0]
	if math.Abs(r.Median-3.0) > 1e-9 || math.Abs(r.Spread-0.1) > 1e-9 {
		t.Errorf("median %.3f spread %.3f, want 3.000 and 0.100", r.Median, r.Spread)
	}
	md := SpreadMarkdown(rows, 0.10)
	if !strings.Contains(md, "| ingest 1M records | 3.00 / 3.30 / 2.70 | 3.00x | ±10.0% | pass | yes |") {
		t.Errorf("SpreadMarkdown:\n%s", md)
	}
	if !rows[0].Judged || rows[1].Judged {
		t.Errorf("a goal without CPU is judged on the wall ratio: judged %v (wall), %v (CPU)", rows[0].Judged, rows[1].Judged)
	}
	for _, r := range []*Report{a, b, c} {
		r.Figures[0].Goal.CPU = true
	}
	if rows := Spread([]*Report{a, b, c}); rows[0].Judged || !rows[1].Judged {
		t.Errorf("a CPU goal is judged on the CPU ratio: judged %v (wall), %v (CPU)", rows[0].Judged, rows[1].Judged)
	}
	rows = Spread([]*Report{a, sampleReport(4)})
	if md := SpreadMarkdown(rows, 0.10); !strings.Contains(md, "FAIL") {
		t.Errorf("a 3.0 vs 4.0 ratio (±14%%) should miss ±10%%:\n%s", md)
	}
}

func TestNumber(t *testing.T) {
	f := func(v float64, want string) {
		t.Helper()
		if got := Number(v); got != want {
			t.Errorf("Number(%v) = %q, want %q", v, got, want)
		}
	}
	f(0, "0")
	f(1234567, "1234567")
	f(42.25, "42.2")
	f(4.2, "4.20")
	f(0.012345, "0.0123")
	f(math.NaN(), "—")
}
