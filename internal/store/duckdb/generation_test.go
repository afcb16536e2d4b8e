package duckdb

import (
	"context"
	"testing"

	"github.com/flowhunt/flowhunt/internal/store"
)

// TestGeneration: Generation reads the committed manifest's generation
// from its head, 0 for an empty store, and follows every commit.
func TestGeneration(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	check := func(want int64) {
		t.Helper()
		g, err := s.Generation()
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if g != want || m.Generation != want {
			t.Fatalf("Generation() = %d, manifest says %d, want %d", g, m.Generation, want)
		}
	}
	check(0)
	cols := []store.Column{{Name: "id", Type: "BIGINT"}}
	for i := int64(1); i <= 3; i++ {
		if err := s.PutTable(ctx, "side", cols, [][]any{{i}}, false); err != nil {
			t.Fatal(err)
		}
		check(i)
	}
}
