// Package duckdb is flowhunt's embedded store: immutable Parquet segment
// files partitioned by day under one directory, a manifest that is replaced
// atomically to commit them, and DuckDB in-process to query them. Readers
// never lock; one writer at a time holds DIR/writer.lock.
package duckdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
	"github.com/flowhunt/flowhunt/internal/store/pqwrite"
)

// Config configures a store.
type Config struct {
	// Dir holds all data. The CLI takes it from --data, FLOWHUNT_DATA or
	// ./flowhunt-data.
	Dir string
	// InternalCIDRs are added to the default internal networks (RFC 1918,
	// 100.64.0.0/10, fc00::/7) that decide the direction column.
	InternalCIDRs []netip.Prefix
	// GarbageGrace is how long files dropped from the manifest stay on disk
	// for readers of an older manifest; default 10 minutes.
	GarbageGrace time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Codec compresses new flow segments: "none" (default), "snappy" or
	// "zstd". Uncompressed segments are about 1.5x larger and make selective
	// scans up to 2x faster (docs/storage.md has the measurements).
	Codec string
}

// copyCodec is the codec for segments DuckDB rewrites (compaction, object
// removal), in COPY's spelling.
func (s *Store) copyCodec() string {
	c, _ := pqwrite.ParseCodec(s.cfg.Codec)
	switch c {
	case pqwrite.Snappy:
		return "snappy"
	case pqwrite.Zstd:
		return "zstd"
	}
	return "uncompressed"
}

// Validate checks the configuration and fills defaults.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return errors.New("cannot open store: no data directory (set --data or FLOWHUNT_DATA)")
	}
	if c.GarbageGrace == 0 {
		c.GarbageGrace = 10 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if _, err := pqwrite.ParseCodec(c.Codec); err != nil {
		return fmt.Errorf("cannot open store: %w", err)
	}
	return nil
}

// Store is an open data directory.
type Store struct {
	cfg      Config
	dir      string
	internal *store.Networks

	mu sync.Mutex // serialises writers within the process
}

// Open opens (creating if needed) the data directory. It takes no lock:
// readers in other processes are never blocked.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("cannot open store %q: %w", cfg.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot open store %q: %w", cfg.Dir, err)
	}
	return &Store{cfg: cfg, dir: dir, internal: store.NewNetworks(cfg.InternalCIDRs)}, nil
}

// Dir returns the absolute data directory.
func (s *Store) Dir() string { return s.dir }

// Close releases the store. It holds nothing between calls today.
func (s *Store) Close() error { return nil }

// Manifest returns the last committed manifest.
func (s *Store) Manifest() (*Manifest, error) { return loadManifest(s.dir) }

// writer is the exclusive right to change the store.
type writer struct {
	s    *Store
	lock *os.File
	m    *Manifest
}

// lockWriter waits for DIR/writer.lock (another process may be ingesting),
// loads the manifest and removes files left by crashed writers.
func (s *Store) lockWriter(ctx context.Context) (*writer, error) {
	s.mu.Lock()
	f, err := os.OpenFile(filepath.Join(s.dir, "writer.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("cannot lock store %s: %w", s.dir, err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			s.mu.Unlock()
			return nil, fmt.Errorf("cannot lock store %s: %w", s.dir, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			s.mu.Unlock()
			return nil, fmt.Errorf("cannot lock store %s (another writer holds writer.lock): %w", s.dir, ctx.Err())
		case <-tick.C:
		}
	}
	w := &writer{s: s, lock: f}
	m, err := loadManifest(s.dir)
	if err != nil {
		w.unlock()
		return nil, err
	}
	w.m = m
	if err := w.cleanup(); err != nil {
		w.unlock()
		return nil, err
	}
	return w, nil
}

func (w *writer) unlock() {
	syscall.Flock(int(w.lock.Fd()), syscall.LOCK_UN)
	w.lock.Close()
	w.s.mu.Unlock()
}

// commit makes m the committed manifest.
func (w *writer) commit(m *Manifest) error {
	if err := m.commit(w.s.dir, w.s.cfg.Now()); err != nil {
		return err
	}
	w.m = m
	return nil
}

// dataDirs are the folders that hold segment and table files.
var dataDirs = []string{"flows", "rejects", "tables"}

// cleanup removes files no manifest lists (a crashed writer's segments) and
// garbage older than the grace period.
func (w *writer) cleanup() error {
	now := w.s.cfg.Now()
	m := w.m
	expired := map[string]bool{}
	kept := m.Garbage[:0:0]
	for _, g := range m.Garbage {
		if now.Sub(g.Dropped) > w.s.cfg.GarbageGrace {
			expired[g.Path] = true
		} else {
			kept = append(kept, g)
		}
	}
	live := m.live()
	for p := range expired {
		delete(live, p)
	}
	for _, d := range dataDirs {
		root := filepath.Join(w.s.dir, d)
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if e.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(w.s.dir, p)
			if !live[filepath.ToSlash(rel)] {
				if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("cannot clean store %s: %w", w.s.dir, err)
		}
	}
	if len(expired) > 0 {
		m2 := m.clone()
		m2.Garbage = kept
		if err := w.commit(m2); err != nil {
			return err
		}
	}
	// Temp manifests of a crashed commit.
	ents, _ := os.ReadDir(w.s.dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "."+manifestName) && strings.HasSuffix(e.Name(), ".tmp") {
			os.Remove(filepath.Join(w.s.dir, e.Name()))
		}
	}
	return nil
}

// DefaultInternal are the networks internal by default for the direction
// column: the shared store.DefaultInternal.
var DefaultInternal = store.DefaultInternal
