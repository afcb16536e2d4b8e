package harness

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/inflate"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store"
)

// objectSet is the gzip S3 objects of a data set, grouped by header line
// (one group per flow log format).
type objectSet struct {
	Paths     []string
	GzipBytes int64
	Groups    map[string][]string // header line → object paths
}

func listObjects(ctx context.Context, dir string) (objectSet, error) {
	var set objectSet
	src, err := source.Open(ctx, filepath.Join(dir, "s3"), source.Config{})
	if err != nil {
		return set, err
	}
	objs, err := src.List(ctx)
	if err != nil {
		return set, err
	}
	set.Groups = map[string][]string{}
	zr := new(gzip.Reader)
	for _, o := range objs {
		set.Paths = append(set.Paths, o.Key)
		set.GzipBytes += o.Size
		h, err := headerLine(zr, o.Key)
		if err != nil {
			return set, err
		}
		set.Groups[h] = append(set.Groups[h], o.Key)
	}
	if len(set.Paths) == 0 {
		return set, fmt.Errorf("cannot benchmark %q: no objects under s3/", dir)
	}
	return set, nil
}

func headerLine(zr *gzip.Reader, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot open object: %w", err)
	}
	defer f.Close()
	if err := zr.Reset(f); err != nil {
		return "", fmt.Errorf("cannot read object %q: %w", path, err)
	}
	line, err := bufio.NewReaderSize(zr, 4096).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("cannot read object %q: %w", path, err)
	}
	line = strings.TrimSpace(line)
	if !flowlog.IsHeader([]byte(line)) {
		return "", fmt.Errorf("cannot read object %q line 1: no header line", path)
	}
	return line, nil
}

// decompressFloor decompresses every object in parallel (one goroutine per
// core, with the decompressor flowhunt's decoder uses: libdeflate when the
// system has it, else klauspost/compress) and discards the output: no
// ingest of these objects can be faster. It returns the decompressed bytes.
func decompressFloor(ctx context.Context, paths []string) (int64, error) {
	var total atomic.Int64
	var firstErr error
	var mu sync.Mutex
	ch := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			zr := new(gzip.Reader)
			z := inflate.NewDecompressor()
			defer z.Free()
			var comp, text []byte
			for p := range ch {
				var n int64
				var err error
				if z != nil {
					n, comp, text, err = inflateFile(z, p, comp, text)
				} else {
					n, err = gunzipFile(zr, p)
				}
				total.Add(n)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range paths {
		if ctx.Err() != nil {
			break
		}
		ch <- p
	}
	close(ch)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return total.Load(), firstErr
}

// gunzipName names the decompressor of the floors in reports.
func gunzipName() string {
	if inflate.Available() {
		return "gunzip (libdeflate)"
	}
	return "gunzip (klauspost)"
}

// floorName names the decompression floor in reports.
func floorName() string { return "parallel " + gunzipName() }

// inflateFile decompresses one object whole with libdeflate, reusing the
// buffers it returns.
func inflateFile(z *inflate.Decompressor, p string, comp, text []byte) (int64, []byte, []byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, comp, text, fmt.Errorf("cannot open object: %w", err)
	}
	defer f.Close()
	if comp, err = inflate.ReadUpTo(f, comp[:0], 1<<30); err != nil {
		return 0, comp, text, fmt.Errorf("cannot read object %q: %w", p, err)
	}
	text, err = z.Gunzip(text, comp, 1<<30)
	if err != nil {
		return int64(len(text)), comp, text, fmt.Errorf("cannot decompress object %q: %w", p, err)
	}
	return int64(len(text)), comp, text, nil
}

func gunzipFile(zr *gzip.Reader, p string) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, fmt.Errorf("cannot open object: %w", err)
	}
	defer f.Close()
	if err := zr.Reset(f); err != nil {
		return 0, fmt.Errorf("cannot decompress object %q: %w", p, err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err != nil {
		return n, fmt.Errorf("cannot decompress object %q: %w", p, err)
	}
	return n, nil
}

// ingestSummary is the part of `flowhunt ingest --output json` the harness reads.
type ingestSummary struct {
	Records int64   `json:"records"`
	Rejects int64   `json:"rejects"`
	Seconds float64 `json:"seconds"`
}

// flowhuntIngest stores the data set into a fresh data directory with the
// flowhunt binary (a child, for its peak RSS).
func (h *harness) flowhuntIngest(ctx context.Context, dataDir, dsDir string) (childResult, ingestSummary, error) {
	var sum ingestSummary
	res, err := h.runChild(ctx, nil, "ingest", "--data", dataDir, "--output", "json", filepath.Join(dsDir, "s3"))
	if err != nil {
		return res, sum, err
	}
	if err := json.Unmarshal(res.Stdout, &sum); err != nil {
		return res, sum, fmt.Errorf("cannot read the output of flowhunt ingest %q: %w", cut(string(res.Stdout), 200), err)
	}
	return res, sum, nil
}

// readCSV is the anchor of ingest: DuckDB's own CSV reader loads the same
// gzip objects into a native table of a database file, with explicit column
// types (those of flowhunt's schema), committed and checkpointed. Objects
// are grouped by header so each read_csv call sees one layout; the table
// holds the union of the layouts' columns, as vpc_flow_logs does.
func readCSV(ctx context.Context, dbPath string, set objectSet) (*sql.DB, int64, time.Duration, error) {
	db, err := sql.Open("duckdb", dbPath)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("cannot open DuckDB database %q: %w", dbPath, err)
	}
	fail := func(err error) (*sql.DB, int64, time.Duration, error) {
		db.Close()
		return nil, 0, 0, err
	}
	db.SetMaxOpenConns(1)
	types := map[flowlog.Field]string{}
	for _, c := range store.FlowColumns() {
		if c.AWS {
			types[c.Field] = c.Type
		}
	}
	headers := make([]string, 0, len(set.Groups))
	var union uint64
	layouts := map[string]flowlog.Layout{}
	for hdr := range set.Groups {
		l, err := flowlog.ParseLayout(hdr)
		if err != nil {
			return fail(fmt.Errorf("cannot read header %q: %w", cut(hdr, 80), err))
		}
		layouts[hdr] = l
		union |= l.Mask()
		headers = append(headers, hdr)
	}
	sort.Strings(headers)
	var defs []string
	for _, f := range flowlog.AllFields() {
		if union&(1<<f) != 0 {
			defs = append(defs, fmt.Sprintf("%q %s", f.Column(), types[f]))
		}
	}
	t0 := time.Now()
	if _, err := db.ExecContext(ctx, "CREATE TABLE vpc_flow_logs ("+strings.Join(defs, ", ")+")"); err != nil {
		return fail(fmt.Errorf("cannot create native table: %w", err))
	}
	for _, hdr := range headers {
		var cols []string
		for _, f := range layouts[hdr].Fields {
			cols = append(cols, fmt.Sprintf("%s: %s", sqlString(f.Column()), sqlString(types[f])))
		}
		files := make([]string, len(set.Groups[hdr]))
		for i, p := range set.Groups[hdr] {
			files[i] = sqlString(p)
		}
		q := "INSERT INTO vpc_flow_logs BY NAME SELECT * FROM read_csv([" + strings.Join(files, ", ") +
			"], delim = ' ', header = true, nullstr = '-', auto_detect = false, columns = {" + strings.Join(cols, ", ") + "})"
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fail(fmt.Errorf("cannot load objects with read_csv: %w", err))
		}
	}
	if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return fail(fmt.Errorf("cannot checkpoint native table: %w", err))
	}
	took := time.Since(t0)
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM vpc_flow_logs").Scan(&n); err != nil {
		return fail(fmt.Errorf("cannot count native rows: %w", err))
	}
	return db, n, took, nil
}

// sqlString quotes s as a SQL string literal. The harness builds SQL only
// from its own file names and the field registry, never from user input.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// zcat decompresses every object with gzip -dc in one process, output to
// /dev/null: the decompression floor a shell user would reach for, single
// threaded (the parallel klauspost floor is the stricter one).
func zcat(ctx context.Context, paths []string) (childResult, error) {
	return runTool(ctx, "gzip", append([]string{"-dc", "--"}, paths...)...)
}
