package duckdb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Generation returns the generation of the committed manifest: it grows by
// one with every commit, and an empty store has 0. A Reader opened after
// Generation returned g sees generation g or a later one, so a server can
// keep readers open while the generation stays the same. It reads the head
// of the manifest only (json.Marshal writes "generation" second), not the
// object list a full load parses.
func (s *Store) Generation() (int64, error) {
	f, err := os.Open(filepath.Join(s.dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read manifest: %w", err)
	}
	defer f.Close()
	d := json.NewDecoder(f)
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return 0, fmt.Errorf("cannot read manifest %s: not a JSON object", f.Name())
	}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return 0, fmt.Errorf("cannot read manifest %s: %w", f.Name(), err)
		}
		if t == "generation" {
			var g int64
			if err := d.Decode(&g); err != nil {
				return 0, fmt.Errorf("cannot read generation of manifest %s: %w", f.Name(), err)
			}
			return g, nil
		}
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return 0, fmt.Errorf("cannot read manifest %s: %w", f.Name(), err)
		}
	}
	return 0, fmt.Errorf("cannot read manifest %s: no generation", f.Name())
}
