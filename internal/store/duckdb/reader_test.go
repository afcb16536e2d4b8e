package duckdb

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store"
)

// copyTree copies the files under src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// flowRows returns every row of vpc_flow_logs as text, all columns but
// the ingest's own (object key, batch), in time and line order.
func flowRows(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	r, err := s.Reader(ctx, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows, err := r.Query(ctx, `SELECT * EXCLUDE (source_object, ingest_batch) FROM vpc_flow_logs ORDER BY ts_start, source_line`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSpace(fmt.Sprintln(vals...)))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func flowViewOf(t *testing.T, s *Store) string {
	t.Helper()
	m, err := s.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return flowView(s.dir, m, time.Time{}, time.Time{})
}

// TestNarrowSegmentsStillRead reads a store written before every segment
// held every flow column: testdata/narrow-segments is what the writer of
// commit 2a19c86 made of testdata/narrow-segments-input (a default-format
// object, 25 columns a segment, and a version 3 one, 32), with
// `flowhunt ingest --data narrow-segments narrow-segments-input`. It must
// read as the same input ingested today, alone and with new segments
// beside it.
func TestNarrowSegmentsStillRead(t *testing.T) {
	ctx := context.Background()
	input := filepath.Join("testdata", "narrow-segments-input")

	fresh := openStore(t, t.TempDir())
	if _, err := fresh.Ingest(ctx, localSource(t, input, source.TimeRange{}), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := flowViewOf(t, fresh); strings.Contains(v, "union_by_name") {
		t.Errorf("a store of full segments unifies by name: %s", cut(v, 200))
	}
	want := flowRows(t, fresh)
	if len(want) != 5 {
		t.Fatalf("fresh store has %d rows, want 5", len(want))
	}

	dir := t.TempDir()
	copyTree(t, filepath.Join("testdata", "narrow-segments"), dir)
	old := openStore(t, dir)
	if v := flowViewOf(t, old); !strings.Contains(v, "union_by_name=true") {
		t.Errorf("a store of narrow segments does not unify by name: %s", cut(v, 200))
	}
	if got := flowRows(t, old); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("narrow segments read:\n%s\nthe same input ingested today:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// New segments beside the old ones: both read, NULLs stay NULLs.
	more := t.TempDir()
	writeObjects(t, more, day0.Add(time.Hour), 1, 10)
	if _, err := old.Ingest(ctx, localSource(t, more, source.TimeRange{}), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := old.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	full, narrow := 0, 0
	for _, s := range m.Segments {
		switch {
		case s.Kind != KindFlows:
		case hasAllColumns(s.Columns, store.FlowColumns()):
			full++
		default:
			narrow++
		}
	}
	if full != 1 || narrow != 3 {
		t.Errorf("%d segments of every column and %d narrow ones, want 1 and 3", full, narrow)
	}
	f := func(q string, want int64) {
		t.Helper()
		if got := queryInt(t, old, q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
	f("SELECT count(*) FROM vpc_flow_logs", 15)
	f("SELECT count(vpc_id) FROM vpc_flow_logs", 2)
	f("SELECT count(tcp_flags) FROM vpc_flow_logs WHERE version = 3", 2)
	f("SELECT count(*) FROM vpc_flow_logs WHERE src_country IS NULL AND pkt_srcaddr IS NULL AND version = 2", 13)
	f("SELECT sum(bytes) FROM vpc_flow_logs WHERE version = 3", 6100)
}
