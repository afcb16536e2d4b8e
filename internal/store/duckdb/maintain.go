package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

// removeObjects drops every row of the given objects and their ingest
// records in one commit. Segments holding only those objects are dropped;
// segments shared with other objects are rewritten without their rows.
func (w *writer) removeObjects(ctx context.Context, keys []string) error {
	drop := map[string]bool{}
	for _, k := range keys {
		drop[k] = true
	}
	m := w.m.clone()
	dropped := map[string]bool{}
	renamed := map[string]string{}
	var db *sql.DB
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	var added []Segment
	for _, seg := range m.Segments {
		var keep []string
		hit := false
		for _, o := range seg.Objects {
			if drop[o] {
				hit = true
			} else {
				keep = append(keep, o)
			}
		}
		if !hit {
			continue
		}
		dropped[seg.Path] = true
		if len(keep) == 0 {
			continue
		}
		if db == nil {
			var err error
			if db, err = sql.Open("duckdb", ""); err != nil {
				return fmt.Errorf("cannot open query engine: %w", err)
			}
		}
		col := store.ColSourceObject
		if seg.Kind == KindRejects {
			col = "object"
		}
		ns := seg
		ns.Path = strings.TrimSuffix(seg.Path, ".parquet") + fmt.Sprintf("-r%d.parquet", m.Generation+1)
		ns.Objects = keep
		src := filepath.Join(w.s.dir, filepath.FromSlash(seg.Path))
		dst := filepath.Join(w.s.dir, filepath.FromSlash(ns.Path))
		var in []string
		for _, k := range keep {
			in = append(in, quoteString(k))
		}
		q := fmt.Sprintf("COPY (SELECT * FROM read_parquet(%s) WHERE %s IN (%s)) TO %s (FORMAT parquet, COMPRESSION "+w.s.copyCodec()+", ROW_GROUP_SIZE %d)",
			quoteString(src), quoteIdent(col), strings.Join(in, ","), quoteString(dst), rowGroupRows)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("cannot rewrite segment %s: %w", seg.Path, err)
		}
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+quoteString(dst)+")").Scan(&ns.Rows); err != nil {
			return fmt.Errorf("cannot rewrite segment %s: %w", seg.Path, err)
		}
		if err := syncFile(dst); err != nil {
			return err
		}
		st, err := os.Stat(dst)
		if err != nil {
			return fmt.Errorf("cannot rewrite segment %s: %w", seg.Path, err)
		}
		ns.Bytes = st.Size()
		renamed[seg.Path] = ns.Path
		added = append(added, ns)
	}
	m.dropSegments(dropped, w.s.cfg.Now().UTC())
	m.Segments = append(m.Segments, added...)
	for _, k := range keys {
		delete(m.Objects, k)
	}
	for _, o := range m.Objects {
		for i, p := range o.Segments {
			if n, ok := renamed[p]; ok {
				o.Segments = append([]string(nil), o.Segments...)
				o.Segments[i] = n
			}
		}
	}
	return w.commit(m)
}

func syncFile(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("cannot sync %s: %w", p, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cannot sync %s: %w", p, err)
	}
	return syncDir(filepath.Dir(p))
}

// expire drops the day partitions before cutoff's day and returns them.
func (w *writer) expire(cutoff time.Time) ([]string, error) {
	day := cutoff.UTC().Format("2006-01-02")
	drop := map[string]bool{}
	days := map[string]bool{}
	for _, s := range w.m.Segments {
		if s.Kind == KindFlows && s.Date < day {
			drop[s.Path] = true
			days[s.Date] = true
		}
	}
	if len(drop) == 0 {
		return nil, nil
	}
	m := w.m.clone()
	m.dropSegments(drop, w.s.cfg.Now().UTC())
	for _, o := range m.Objects {
		var keep []string
		for _, p := range o.Segments {
			if !drop[p] {
				keep = append(keep, p)
			}
		}
		o.Segments = keep
	}
	if err := w.commit(m); err != nil {
		return nil, err
	}
	var out []string
	for d := range days {
		out = append(out, d)
	}
	sort.Strings(out)
	return out, nil
}

// Expire drops the day partitions older than cutoff (retention).
func (s *Store) Expire(ctx context.Context, cutoff time.Time) ([]string, error) {
	w, err := s.lockWriter(ctx)
	if err != nil {
		return nil, err
	}
	defer w.unlock()
	return w.expire(cutoff)
}

var tableName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// reserved names a side table may not take.
var reserved = map[string]bool{store.FlowTable: true, "rejects": true, "ingested_objects": true}

// PutTable stores a side table (CloudTrail events, GuardDuty findings,
// findings, inventories) as Parquet, readable by Reader.Query under name.
// With replace the table's rows are replaced, else rows are appended.
// Values must suit the column types (string, int64, float64, bool,
// time.Time, []byte or nil).
func (s *Store) PutTable(ctx context.Context, name string, cols []store.Column, rows [][]any, replace bool) error {
	if !tableName.MatchString(name) || reserved[name] {
		return fmt.Errorf("cannot put table %q: the name must be lowercase letters, digits and '_' and not a built-in table", name)
	}
	if len(cols) == 0 {
		return fmt.Errorf("cannot put table %q: no columns", name)
	}
	w, err := s.lockWriter(ctx)
	if err != nil {
		return err
	}
	defer w.unlock()
	m := w.m.clone()
	old := m.Tables[name]
	if old != nil && !replace && !sameColumns(old.Columns, cols) {
		return fmt.Errorf("cannot append to table %q: its columns differ (pass replace)", name)
	}
	rel := fmt.Sprintf("tables/%s/%d.parquet", name, m.Generation+1)
	if len(rows) > 0 {
		if err := writeTable(ctx, filepath.Join(s.dir, filepath.FromSlash(rel)), cols, rows); err != nil {
			return fmt.Errorf("cannot put table %q: %w", name, err)
		}
	}
	t := &TableInfo{Columns: cols}
	if old != nil && !replace {
		t.Paths = append(t.Paths, old.Paths...)
		t.Rows = old.Rows
	}
	if old != nil && replace {
		for _, p := range old.Paths {
			m.Garbage = append(m.Garbage, Garbage{Path: p, Dropped: s.cfg.Now().UTC()})
		}
	}
	if len(rows) > 0 {
		t.Paths = append(t.Paths, rel)
		t.Rows += int64(len(rows))
	}
	m.Tables[name] = t
	return w.commit(m)
}

func sameColumns(a, b []store.Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !strings.EqualFold(a[i].Type, b[i].Type) {
			return false
		}
	}
	return true
}

// writeTable writes rows to a Parquet file through an in-memory DuckDB,
// which converts every column type the same way queries read them.
func writeTable(ctx context.Context, path string, cols []store.Column, rows [][]any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var defs, marks []string
	for _, c := range cols {
		defs = append(defs, quoteIdent(c.Name)+" "+c.Type)
		marks = append(marks, "?")
	}
	if _, err := conn.ExecContext(ctx, "CREATE TABLE t ("+strings.Join(defs, ", ")+")"); err != nil {
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO t VALUES ("+strings.Join(marks, ",")+")")
	if err != nil {
		tx.Rollback()
		return err
	}
	for i, r := range rows {
		if len(r) != len(cols) {
			tx.Rollback()
			return fmt.Errorf("row %d has %d values for %d columns", i+1, len(r), len(cols))
		}
		if _, err := stmt.ExecContext(ctx, r...); err != nil {
			tx.Rollback()
			return fmt.Errorf("row %d: %w", i+1, err)
		}
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COPY t TO "+quoteString(path)+" (FORMAT parquet, COMPRESSION snappy)"); err != nil {
		return err
	}
	return syncFile(path)
}

// Compaction merges small flow segments of a day once there are enough of
// them (incremental ingests every few minutes make one or two per run).
const (
	compactSmallRows = 256 << 10 // a segment under this many rows is small
	compactMinFiles  = 8         // merge a day's small segments once it has this many
)

// Compact merges the small flow segments of each day, as an ingest does at
// its end; writers that ingest with NoCompact call it from time to time. It
// returns how many segments it merged.
func (s *Store) Compact(ctx context.Context) (int, error) {
	w, err := s.lockWriter(ctx)
	if err != nil {
		return 0, err
	}
	defer w.unlock()
	return w.compact(ctx, s.cfg.Now().UTC().Format("20060102T150405.000000Z"))
}

// compact merges the small flow segments of each day into one segment per
// day, in one commit. It returns how many segments it merged.
func (w *writer) compact(ctx context.Context, batch string) (int, error) {
	byDay := map[string][]Segment{}
	for _, s := range w.m.Segments {
		if s.Kind == KindFlows && s.Rows < compactSmallRows {
			byDay[s.Date] = append(byDay[s.Date], s)
		}
	}
	var db *sql.DB
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	m := w.m.clone()
	drop := map[string]bool{}
	renamed := map[string]string{}
	merged := 0
	for day, segs := range byDay {
		if len(segs) < compactMinFiles {
			continue
		}
		if db == nil {
			var err error
			if db, err = sql.Open("duckdb", ""); err != nil {
				return 0, fmt.Errorf("cannot open query engine: %w", err)
			}
		}
		ns := Segment{Kind: KindFlows, Date: day, Batch: batch,
			Path: fmt.Sprintf("flows/date=%s/%s-c%d.parquet", day, batch, m.Generation+1)}
		var files []string
		cols, objs := map[string]bool{}, map[string]bool{}
		for _, s := range segs {
			files = append(files, quoteString(filepath.Join(w.s.dir, filepath.FromSlash(s.Path))))
			for _, c := range s.Columns {
				cols[c] = true
			}
			for _, o := range s.Objects {
				objs[o] = true
			}
			ns.Rows += s.Rows
			drop[s.Path] = true
			renamed[s.Path] = ns.Path
		}
		// Every flow column, as the writer makes them: the merged segment
		// reads with the others as one schema (see segmentColumns), whatever
		// columns its inputs held.
		var sel []string
		for _, c := range store.FlowColumns() {
			if cols[c.Name] {
				sel = append(sel, quoteIdent(c.Name))
			} else {
				sel = append(sel, "CAST(NULL AS "+c.Type+") AS "+quoteIdent(c.Name))
			}
			ns.Columns = append(ns.Columns, c.Name)
		}
		for o := range objs {
			ns.Objects = append(ns.Objects, o)
		}
		sort.Strings(ns.Objects)
		dst := filepath.Join(w.s.dir, filepath.FromSlash(ns.Path))
		q := fmt.Sprintf("COPY (SELECT %s FROM read_parquet([%s], union_by_name=true)) TO %s (FORMAT parquet, COMPRESSION "+w.s.copyCodec()+", ROW_GROUP_SIZE %d)",
			strings.Join(sel, ", "), strings.Join(files, ","), quoteString(dst), rowGroupRows)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("cannot compact day %s: %w", day, err)
		}
		if err := syncFile(dst); err != nil {
			return 0, err
		}
		st, err := os.Stat(dst)
		if err != nil {
			return 0, fmt.Errorf("cannot compact day %s: %w", day, err)
		}
		ns.Bytes = st.Size()
		m.Segments = append(m.Segments, ns)
		merged += len(segs)
	}
	if merged == 0 {
		return 0, nil
	}
	m.dropSegments(drop, w.s.cfg.Now().UTC())
	for _, o := range m.Objects {
		seen := map[string]bool{}
		var segs []string
		for _, p := range o.Segments {
			if n, ok := renamed[p]; ok {
				p = n
			}
			if !seen[p] {
				seen[p] = true
				segs = append(segs, p)
			}
		}
		o.Segments = segs
	}
	return merged, w.commit(m)
}
