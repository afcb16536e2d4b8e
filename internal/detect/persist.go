package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"
)

// FindingsFile is the name of the findings store inside the data directory.
const FindingsFile = "findings.json"

// ErrNotFound is returned for an unknown finding id.
var ErrNotFound = errors.New("finding not found")

// FindingStore keeps findings in one JSON file of the data directory,
// rewritten atomically (temp file + rename) under an exclusive flock, so
// concurrent hunts and status changes never lose each other's updates.
type FindingStore struct {
	Path string
	Now  func() time.Time
}

// NewFindingStore returns the store of data directory dir.
func NewFindingStore(dir string) *FindingStore {
	return &FindingStore{Path: filepath.Join(dir, FindingsFile), Now: time.Now}
}

type findingsDoc struct {
	Version  int       `json:"version"`
	Findings []Finding `json:"findings"`
}

// Load returns every stored finding, ranked.
func (s *FindingStore) Load() ([]Finding, error) {
	var fs []Finding
	err := s.locked(false, func(cur []Finding) ([]Finding, error) {
		fs = cur
		return nil, nil
	})
	SortFindings(fs)
	return fs, err
}

// Merge stores a hunt's findings: a finding with a known id is updated
// (evidence, severity, last seen) and keeps its analyst status and creation
// time; new ones are added. It returns the stored versions of fs.
func (s *FindingStore) Merge(fs []Finding) ([]Finding, error) {
	now := s.Now().UTC().Truncate(time.Second)
	out := make([]Finding, len(fs))
	err := s.locked(true, func(cur []Finding) ([]Finding, error) {
		idx := map[string]int{}
		for i, f := range cur {
			idx[f.ID] = i
		}
		for i, f := range fs {
			f.Updated = now
			if j, ok := idx[f.ID]; ok {
				f.Status = cur[j].Status
				f.Created = cur[j].Created
				cur[j] = f
			} else {
				f.Created = now
				if f.Status == "" {
					f.Status = StatusOpen
				}
				idx[f.ID] = len(cur)
				cur = append(cur, f)
			}
			out[i] = f
		}
		return cur, nil
	})
	return out, err
}

// Get returns one finding; a unique prefix of its id is enough.
func (s *FindingStore) Get(id string) (Finding, error) {
	fs, err := s.Load()
	if err != nil {
		return Finding{}, err
	}
	i, err := find(fs, id)
	if err != nil {
		return Finding{}, err
	}
	return fs[i], nil
}

// SetStatus changes the analyst status of a finding.
func (s *FindingStore) SetStatus(id string, st Status) (Finding, error) {
	var got Finding
	err := s.locked(true, func(cur []Finding) ([]Finding, error) {
		i, err := find(cur, id)
		if err != nil {
			return nil, err
		}
		cur[i].Status = st
		cur[i].Updated = s.Now().UTC().Truncate(time.Second)
		got = cur[i]
		return cur, nil
	})
	return got, err
}

func find(fs []Finding, id string) (int, error) {
	hit := -1
	for i, f := range fs {
		if f.ID == id {
			return i, nil
		}
		if len(id) >= 6 && len(f.ID) > len(id) && f.ID[:len(id)] == id {
			if hit >= 0 {
				return -1, fmt.Errorf("cannot find finding %q: the prefix is ambiguous", id)
			}
			hit = i
		}
	}
	if hit < 0 {
		return -1, fmt.Errorf("cannot find finding %q: %w", id, ErrNotFound)
	}
	return hit, nil
}

// locked reads the file under a lock (exclusive when write), calls fn and,
// when write and fn returns findings, replaces the file atomically.
func (s *FindingStore) locked(write bool, fn func([]Finding) ([]Finding, error)) error {
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
		return fmt.Errorf("cannot create data directory %s: %w", filepath.Dir(s.Path), err)
	}
	lf, err := os.OpenFile(s.Path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("cannot open lock %s.lock: %w", s.Path, err)
	}
	defer lf.Close()
	how := syscall.LOCK_SH
	if write {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(lf.Fd()), how); err != nil {
		return fmt.Errorf("cannot lock %s.lock: %w", s.Path, err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)

	var doc findingsDoc
	b, err := os.ReadFile(s.Path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("cannot read findings %s: %w", s.Path, err)
	default:
		if err := json.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("cannot parse findings %s: %w", s.Path, err)
		}
	}
	next, err := fn(doc.Findings)
	if err != nil || !write || next == nil {
		return err
	}
	sort.Slice(next, func(i, j int) bool { return next[i].ID < next[j].ID })
	out, err := json.MarshalIndent(findingsDoc{Version: 1, Findings: next}, "", " ")
	if err != nil {
		return fmt.Errorf("cannot encode findings: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.Path), ".findings-*.tmp")
	if err != nil {
		return fmt.Errorf("cannot write findings %s: %w", s.Path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write findings %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot sync findings %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write findings %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), s.Path); err != nil {
		return fmt.Errorf("cannot replace findings %s: %w", s.Path, err)
	}
	return nil
}
