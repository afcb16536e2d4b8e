package duckdb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

// manifestName is the file that says what the store holds. It is replaced
// atomically (write temp, fsync, rename, fsync dir); whatever it does not
// list does not exist for readers.
const manifestName = "manifest.json"

// Manifest is the committed state of a store directory.
type Manifest struct {
	Format     int                    `json:"format"`
	Generation int64                  `json:"generation"`
	Committed  time.Time              `json:"committed"`
	Segments   []Segment              `json:"segments"` // flow and reject segment files
	Objects    map[string]*ObjectInfo `json:"objects"`  // ingested objects by key
	Tables     map[string]*TableInfo  `json:"tables"`   // side tables by name
	Garbage    []Garbage              `json:"garbage,omitempty"`
}

// Segment kinds.
const (
	KindFlows   = "flows"
	KindRejects = "rejects"
)

// Segment is one immutable Parquet file.
type Segment struct {
	Path    string   `json:"path"` // relative to the data directory, slash-separated
	Kind    string   `json:"kind"`
	Date    string   `json:"date,omitempty"` // YYYY-MM-DD partition of flow segments
	Rows    int64    `json:"rows"`
	Bytes   int64    `json:"bytes"`
	Columns []string `json:"columns,omitempty"` // flow columns the file holds (others are NULL)
	Batch   string   `json:"batch"`
	Objects []string `json:"objects"` // keys of the objects whose rows it holds
}

// ObjectInfo records one ingested object.
type ObjectInfo struct {
	Key      string    `json:"key"`
	Version  string    `json:"version"` // size and ETag or mtime
	Size     int64     `json:"size"`
	ETag     string    `json:"etag,omitempty"`
	ModTime  time.Time `json:"mtime"`
	Records  int64     `json:"records"`
	Rejects  int64     `json:"rejects"`
	Damaged  string    `json:"damaged,omitempty"` // why the object could not be read to its end
	Batch    string    `json:"batch"`
	Ingested time.Time `json:"ingested"`
	Segments []string  `json:"segments"`
}

// TableInfo records one side table.
type TableInfo struct {
	Paths   []string       `json:"paths"` // Parquet files, relative to the data directory
	Columns []store.Column `json:"columns"`
	Rows    int64          `json:"rows"`
}

// Garbage is a file no manifest lists any more. It is kept for a while so
// readers that opened an older manifest can finish.
type Garbage struct {
	Path    string    `json:"path"`
	Dropped time.Time `json:"dropped"`
}

func newManifest() *Manifest {
	return &Manifest{Format: 1, Objects: map[string]*ObjectInfo{}, Tables: map[string]*TableInfo{}}
}

// loadManifest reads the committed manifest of dir; an empty store has none.
func loadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return newManifest(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read manifest: %w", err)
	}
	m := newManifest()
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("cannot read manifest %s: %w", filepath.Join(dir, manifestName), err)
	}
	if m.Objects == nil {
		m.Objects = map[string]*ObjectInfo{}
	}
	if m.Tables == nil {
		m.Tables = map[string]*TableInfo{}
	}
	return m, nil
}

// clone returns a deep enough copy to edit: segments, objects and tables are
// copied, their slices shared (they are never edited in place).
func (m *Manifest) clone() *Manifest {
	c := *m
	c.Segments = append([]Segment(nil), m.Segments...)
	c.Garbage = append([]Garbage(nil), m.Garbage...)
	c.Objects = make(map[string]*ObjectInfo, len(m.Objects))
	for k, v := range m.Objects {
		o := *v
		c.Objects[k] = &o
	}
	c.Tables = make(map[string]*TableInfo, len(m.Tables))
	for k, v := range m.Tables {
		t := *v
		c.Tables[k] = &t
	}
	return &c
}

// commit makes m the committed manifest of dir in one atomic rename.
func (m *Manifest) commit(dir string, now time.Time) error {
	m.Generation++
	m.Committed = now.UTC()
	sort.Slice(m.Segments, func(i, j int) bool { return m.Segments[i].Path < m.Segments[j].Path })
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("cannot encode manifest: %w", err)
	}
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d.tmp", manifestName, m.Generation))
	if err := writeFileSync(tmp, b); err != nil {
		return fmt.Errorf("cannot write manifest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, manifestName)); err != nil {
		return fmt.Errorf("cannot commit manifest: %w", err)
	}
	return syncDir(dir)
}

// dropSegments removes the segments whose path is in drop and lists their
// files as garbage.
func (m *Manifest) dropSegments(drop map[string]bool, now time.Time) {
	kept := m.Segments[:0]
	for _, s := range m.Segments {
		if drop[s.Path] {
			m.Garbage = append(m.Garbage, Garbage{Path: s.Path, Dropped: now})
			continue
		}
		kept = append(kept, s)
	}
	m.Segments = kept
}

// live returns the set of files the manifest references.
func (m *Manifest) live() map[string]bool {
	l := map[string]bool{}
	for _, s := range m.Segments {
		l[s.Path] = true
	}
	for _, t := range m.Tables {
		for _, p := range t.Paths {
			l[p] = true
		}
	}
	for _, g := range m.Garbage {
		l[g.Path] = true
	}
	return l
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("cannot sync directory %s: %w", dir, err)
	}
	return nil
}
