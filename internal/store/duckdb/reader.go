package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver

	"github.com/flowhunt/flowhunt/internal/store"
)

// ReaderOptions choose what a Reader sees.
type ReaderOptions struct {
	// From and To restrict vpc_flow_logs to records starting in [From, To);
	// only the day partitions they cover are read. Zero leaves a side open.
	From, To time.Time
	// Setup statements run before the connection is sandboxed (macros).
	Setup []string
}

// Reader is a read-only, sandboxed view of the last committed manifest.
// It takes no lock: an ingest may commit while it is open; the Reader keeps
// seeing the manifest it opened.
type Reader struct {
	db  *sql.DB
	m   *Manifest
	dir string

	// admitted holds query texts checkReadOnly already let through. The
	// connection's settings are locked, so a text's verdict cannot change;
	// remembering it spares repeated queries (dashboards, benchmarks, the
	// console's polling) DuckDB's parse round trip, a few hundred µs.
	mu       sync.Mutex
	admitted map[string]bool
}

// maxAdmitted bounds Reader.admitted; past it the cache starts afresh.
const maxAdmitted = 512

// ErrReadOnly is returned for statements other than queries.
var ErrReadOnly = errors.New("only read-only queries (SELECT, WITH, DESCRIBE, SHOW) are allowed")

// Reader opens an in-memory DuckDB database whose views read the store's
// files: vpc_flow_logs, rejects, ingested_objects and every side table.
func (s *Store) Reader(ctx context.Context, opts ReaderOptions) (*Reader, error) {
	m, err := loadManifest(s.dir)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("cannot open query engine: %w", err)
	}
	r := &Reader{db: db, m: m, dir: s.dir}
	if err := r.setup(ctx, opts); err != nil {
		db.Close()
		return nil, err
	}
	return r, nil
}

// Manifest returns the manifest the reader sees.
func (r *Reader) Manifest() *Manifest { return r.m }

func (r *Reader) setup(ctx context.Context, opts ReaderOptions) error {
	var stmts []string
	stmts = append(stmts, flowView(r.dir, r.m, opts.From, opts.To))
	stmts = append(stmts, rejectsView(r.dir, r.m))
	stmts = append(stmts, `CREATE TABLE ingested_objects (key VARCHAR, version VARCHAR, size BIGINT, etag VARCHAR, mtime TIMESTAMP,
		records BIGINT, rejects BIGINT, damaged VARCHAR, ingest_batch VARCHAR, ingested TIMESTAMP, segments INTEGER)`)
	for name, t := range r.m.Tables {
		stmts = append(stmts, tableView(r.dir, name, t))
	}
	for _, q := range stmts {
		if _, err := r.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("cannot prepare query views: %w", err)
		}
	}
	if err := r.loadObjects(ctx); err != nil {
		return err
	}
	for _, q := range opts.Setup {
		if _, err := r.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("cannot run setup statement %q: %w", cut(q, 80), err)
		}
	}
	sandbox := []string{
		// Segment files never change once written: keep their footers
		// between queries instead of reading them at every bind.
		"SET parquet_metadata_cache=true",
		"SET allowed_directories=[" + quoteString(r.dir) + "]",
		"SET enable_external_access=false",
		"SET lock_configuration=true",
	}
	for _, q := range sandbox {
		if _, err := r.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("cannot sandbox queries: %w", err)
		}
	}
	return nil
}

func (r *Reader) loadObjects(ctx context.Context) error {
	const chunk = 200
	var args []any
	var rows []string
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		q := "INSERT INTO ingested_objects VALUES " + strings.Join(rows, ",")
		if _, err := r.db.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("cannot load ingested objects: %w", err)
		}
		args, rows = args[:0], rows[:0]
		return nil
	}
	for _, o := range r.m.Objects {
		rows = append(rows, "(?,?,?,?,?,?,?,?,?,?,?)")
		args = append(args, o.Key, o.Version, o.Size, o.ETag, o.ModTime.UTC(), o.Records, o.Rejects, o.Damaged, o.Batch, o.Ingested.UTC(), len(o.Segments))
		if len(rows) == chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// flowView is the CREATE VIEW of vpc_flow_logs over the flow segments of
// the days [from, to) covers, in store.FlowColumns() order.
//
// Segments written since every flow column is in every file (see
// segmentColumns) share one schema, and DuckDB reads them as the first
// file says. Older segments hold only the columns their records carried;
// when any of those is in view, the files are unified by name
// (union_by_name), which reads every file's schema at each query: about
// a millisecond more per query (docs/storage.md).
func flowView(dir string, m *Manifest, from, to time.Time) string {
	var files []string
	have := map[string]bool{}
	lo, hi := "", ""
	if !from.IsZero() {
		lo = from.UTC().Format("2006-01-02")
	}
	if !to.IsZero() {
		hi = to.UTC().Add(-time.Nanosecond).Format("2006-01-02")
	}
	all := store.FlowColumns()
	uniform := true
	for _, s := range m.Segments {
		if s.Kind != KindFlows || (lo != "" && s.Date < lo) || (hi != "" && s.Date > hi) {
			continue
		}
		files = append(files, quoteString(filepath.Join(dir, filepath.FromSlash(s.Path))))
		for _, c := range s.Columns {
			have[c] = true
		}
		uniform = uniform && hasAllColumns(s.Columns, all)
	}
	var sel []string
	for _, c := range all {
		if have[c.Name] {
			sel = append(sel, quoteIdent(c.Name))
		} else {
			sel = append(sel, "CAST(NULL AS "+c.Type+") AS "+quoteIdent(c.Name))
		}
	}
	q := "CREATE VIEW vpc_flow_logs AS SELECT " + strings.Join(sel, ", ")
	if len(files) == 0 {
		return q + " WHERE false"
	}
	opts := "union_by_name=true, hive_partitioning=false"
	if uniform {
		opts = "hive_partitioning=false"
	}
	q += " FROM read_parquet([" + strings.Join(files, ",") + "], " + opts + ")"
	var where []string
	if !from.IsZero() {
		where = append(where, "(ts_start IS NULL OR ts_start >= "+timestampLiteral(from)+")")
	}
	if !to.IsZero() {
		where = append(where, "(ts_start IS NULL OR ts_start < "+timestampLiteral(to)+")")
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return q
}

// hasAllColumns reports whether a segment's columns are every flow
// column, in order: the files a plain read_parquet may read as one schema.
func hasAllColumns(cols []string, all []store.Column) bool {
	if len(cols) != len(all) {
		return false
	}
	for i, c := range all {
		if cols[i] != c.Name {
			return false
		}
	}
	return true
}

func rejectsView(dir string, m *Manifest) string {
	var files []string
	for _, s := range m.Segments {
		if s.Kind == KindRejects {
			files = append(files, quoteString(filepath.Join(dir, filepath.FromSlash(s.Path))))
		}
	}
	if len(files) == 0 {
		return "CREATE VIEW rejects AS SELECT CAST(NULL AS VARCHAR) AS object, CAST(NULL AS BIGINT) AS line, CAST(NULL AS VARCHAR) AS reason, CAST(NULL AS VARCHAR) AS text, CAST(NULL AS VARCHAR) AS ingest_batch WHERE false"
	}
	return "CREATE VIEW rejects AS SELECT object, line, reason, text, ingest_batch FROM read_parquet([" + strings.Join(files, ",") + "])"
}

func tableView(dir, name string, t *TableInfo) string {
	if len(t.Paths) == 0 {
		var cols []string
		for _, c := range t.Columns {
			cols = append(cols, "CAST(NULL AS "+c.Type+") AS "+quoteIdent(c.Name))
		}
		return "CREATE VIEW " + quoteIdent(name) + " AS SELECT " + strings.Join(cols, ", ") + " WHERE false"
	}
	var files []string
	for _, p := range t.Paths {
		files = append(files, quoteString(filepath.Join(dir, filepath.FromSlash(p))))
	}
	var cols []string
	for _, c := range t.Columns {
		cols = append(cols, quoteIdent(c.Name))
	}
	return "CREATE VIEW " + quoteIdent(name) + " AS SELECT " + strings.Join(cols, ", ") + " FROM read_parquet([" + strings.Join(files, ",") + "], union_by_name=true)"
}

// Query runs one read-only statement.
func (r *Reader) Query(ctx context.Context, query string, args ...any) (store.Rows, error) {
	if err := r.checkReadOnly(ctx, query); err != nil {
		return nil, err
	}
	rows, err := r.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot run query: %w", err)
	}
	return rows, nil
}

// checkReadOnly lets through one statement that DuckDB's parser can
// serialise as a SELECT (json_serialize_sql refuses every other statement
// type), or a DESCRIBE / SHOW of one.
func (r *Reader) checkReadOnly(ctx context.Context, query string) error {
	r.mu.Lock()
	ok := r.admitted[query]
	r.mu.Unlock()
	if ok {
		return nil
	}
	if err := r.parseReadOnly(ctx, query); err != nil {
		return err
	}
	r.mu.Lock()
	if r.admitted == nil || len(r.admitted) >= maxAdmitted {
		r.admitted = map[string]bool{}
	}
	r.admitted[query] = true
	r.mu.Unlock()
	return nil
}

func (r *Reader) parseReadOnly(ctx context.Context, query string) error {
	q := strings.TrimSpace(query)
	q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
	word := strings.ToUpper(firstWord(q))
	if (word == "DESCRIBE" || word == "SHOW" || word == "SUMMARIZE") && !strings.Contains(q, ";") {
		q = strings.TrimSpace(q[len(word):])
		if q == "" || !strings.ContainsAny(q, " (") {
			return nil // DESCRIBE table, SHOW TABLES
		}
	}
	var out string
	if err := r.db.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)", q).Scan(&out); err != nil {
		return fmt.Errorf("cannot parse query: %w", err)
	}
	var res struct {
		Error      bool              `json:"error"`
		Message    string            `json:"error_message"`
		Statements []json.RawMessage `json:"statements"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return fmt.Errorf("cannot parse query: %w", err)
	}
	if res.Error {
		if strings.Contains(res.Message, "Only SELECT") {
			return fmt.Errorf("cannot run query %q: %w", cut(query, 80), ErrReadOnly)
		}
		return fmt.Errorf("cannot parse query %q: %s", cut(query, 80), res.Message)
	}
	if len(res.Statements) != 1 {
		return fmt.Errorf("cannot run query %q: one statement at a time: %w", cut(query, 80), ErrReadOnly)
	}
	return nil
}

func firstWord(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '(' {
			return s[:i]
		}
	}
	return s
}

// Close releases the reader's database.
func (r *Reader) Close() error { return r.db.Close() }

// quoteIdent quotes a SQL identifier; every identifier flowhunt builds into
// SQL goes through it.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteString quotes a SQL string literal (file paths, which DuckDB's table
// functions need as constants).
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func timestampLiteral(t time.Time) string {
	return "TIMESTAMP '" + t.UTC().Format("2006-01-02 15:04:05.999999") + "'"
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
