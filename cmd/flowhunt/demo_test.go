package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestDemo runs the README's first command end to end (without serving) on a
// small simulation: every verb it chains must succeed and leave its output.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	err := runDemo(context.Background(), []string{"--dir", dir, "--days", "1", "--scale", "0.3", "--serve=false"})
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	for _, p := range []string{"gen/truth.json", "data/manifest.json", "data/findings.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("demo left no %s: %v", p, err)
		}
	}
}
