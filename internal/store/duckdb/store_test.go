package duckdb

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/source/s3fake"
	"github.com/flowhunt/flowhunt/internal/store"
)

var day0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// objectKey is the S3 key AWS gives the object delivered at t.
func objectKey(t time.Time) string {
	return fmt.Sprintf("AWSLogs/111122223333/vpcflowlogs/us-east-1/%s/111122223333_vpcflowlogs_us-east-1_fl-0a1b2c3d_%s_%08x.log.gz",
		t.Format("2006/01/02"), t.Format("20060102T1504Z"), t.Unix())
}

// flowText makes n records of the default format starting around t, with a
// header line; bad lines are appended after record bad[i].
func flowText(seed uint64, t time.Time, n int, bad ...string) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	var b bytes.Buffer
	b.WriteString(flowlog.DefaultLayout.Header() + "\n")
	var r flowlog.Record
	for i := 0; i < n; i++ {
		r.Reset()
		start := t.Unix() + int64(rng.IntN(60))
		r.SetInt(flowlog.Version, 2)
		r.SetStr(flowlog.AccountID, "111122223333")
		r.SetStr(flowlog.InterfaceID, fmt.Sprintf("eni-%08x", rng.IntN(16)))
		src := fmt.Sprintf("10.0.%d.%d", rng.IntN(4), 1+rng.IntN(200))
		dst := fmt.Sprintf("203.0.113.%d", 1+rng.IntN(250))
		if rng.IntN(2) == 0 {
			src, dst = dst, src
		}
		r.SetStr(flowlog.SrcAddr, src)
		r.SetStr(flowlog.DstAddr, dst)
		r.SetInt(flowlog.SrcPort, int64(1024+rng.IntN(60000)))
		r.SetInt(flowlog.DstPort, []int64{22, 80, 443, 3389}[rng.IntN(4)])
		r.SetInt(flowlog.Protocol, 6)
		r.SetInt(flowlog.Packets, int64(1+rng.IntN(100)))
		r.SetInt(flowlog.Bytes, int64(40+rng.IntN(100000)))
		r.SetInt(flowlog.Start, start)
		r.SetInt(flowlog.End, start+int64(rng.IntN(60)))
		r.SetStr(flowlog.Action, []string{"ACCEPT", "REJECT"}[rng.IntN(2)])
		r.SetStr(flowlog.LogStatus, "OK")
		b.Write(r.AppendText(nil, flowlog.DefaultLayout))
		b.WriteByte('\n')
		if i < len(bad) {
			b.WriteString(bad[i] + "\n")
		}
	}
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// writeObjects writes n objects of recs records, 5 minutes apart from t,
// into dir in AWS's layout and returns their paths.
func writeObjects(t testing.TB, dir string, from time.Time, n, recs int) []string {
	t.Helper()
	var paths []string
	for i := 0; i < n; i++ {
		at := from.Add(time.Duration(i) * 5 * time.Minute)
		p := filepath.Join(dir, filepath.FromSlash(objectKey(at)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, gz(flowText(uint64(i), at, recs)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func localSource(t testing.TB, path string, rng source.TimeRange) []source.Source {
	t.Helper()
	src, err := source.Open(context.Background(), path, source.Config{Range: rng})
	if err != nil {
		t.Fatal(err)
	}
	return []source.Source{src}
}

// queryInt runs a query returning one integer.
func queryInt(t testing.TB, s *Store, q string) int64 {
	t.Helper()
	r, err := s.Reader(context.Background(), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return readerInt(t, r, q)
}

func readerInt(t testing.TB, r *Reader, q string) int64 {
	t.Helper()
	rows, err := r.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var v int64
	if !rows.Next() {
		t.Fatalf("%s: no row (%v)", q, rows.Err())
	}
	if err := rows.Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

func TestIngestIdempotentAndChanged(t *testing.T) {
	ctx := context.Background()
	in, data := t.TempDir(), t.TempDir()
	paths := writeObjects(t, in, day0.Add(23*time.Hour+50*time.Minute), 4, 500) // crosses midnight
	s := openStore(t, data)
	sum, err := s.Ingest(ctx, localSource(t, in, source.TimeRange{}), IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Ingested != 4 || sum.Records != 2000 || sum.Rejects != 0 {
		t.Fatalf("first ingest: %+v", sum)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM vpc_flow_logs"); got != 2000 {
		t.Fatalf("count = %d, want 2000", got)
	}
	if got := queryInt(t, s, "SELECT count(DISTINCT date) FROM vpc_flow_logs"); got != 2 {
		t.Errorf("dates = %d, want 2 (the objects cross midnight)", got)
	}
	sum, err = s.Ingest(ctx, localSource(t, in, source.TimeRange{}), IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Ingested != 0 || sum.Unchanged != 4 {
		t.Fatalf("second ingest: %+v", sum)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM vpc_flow_logs"); got != 2000 {
		t.Fatalf("count after re-ingest = %d, want 2000", got)
	}
	// One object changes: it is stored again, without duplicates. Several
	// objects share a segment, so the segment is rewritten without it.
	if err := os.WriteFile(paths[1], gz(flowText(99, day0.Add(23*time.Hour+55*time.Minute), 300)), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err = s.Ingest(ctx, localSource(t, in, source.TimeRange{}), IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Replaced != 1 || sum.Ingested != 1 || sum.Records != 300 {
		t.Fatalf("changed ingest: %+v", sum)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM vpc_flow_logs"); got != 1800 {
		t.Fatalf("count after change = %d, want 1800", got)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM (SELECT DISTINCT source_object, source_line FROM vpc_flow_logs)"); got != 1800 {
		t.Errorf("distinct (object, line) = %d, want 1800", got)
	}
	if got := queryInt(t, s, "SELECT sum(records) FROM ingested_objects"); got != 1800 {
		t.Errorf("ingested_objects records = %d, want 1800", got)
	}
}

func TestSchemaAndDerivedColumns(t *testing.T) {
	ctx := context.Background()
	in, data := t.TempDir(), t.TempDir()
	text := flowlog.DefaultLayout.Header() + "\n" +
		"2 111122223333 eni-1 203.0.113.7 10.0.1.5 44321 22 6 3 180 1793491200 1793491260 REJECT OK\n" +
		"2 111122223333 eni-1 10.0.1.5 10.0.2.9 5000 443 6 10 4000 1793491200 1793491230 ACCEPT OK\n" +
		"2 111122223333 eni-1 2001:db8::1 fd00::5 5000 443 6 10 4000 1793491200 1793491230 ACCEPT OK\n" +
		"2 111122223333 eni-1 - - - - - - - 1793491200 1793491260 - NODATA\n"
	if err := os.WriteFile(filepath.Join(in, "one.log"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, data)
	if _, err := s.Ingest(ctx, localSource(t, in, source.TimeRange{}), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Reader(ctx, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows, err := r.Query(ctx, "SELECT column_name, column_type FROM (DESCRIBE vpc_flow_logs)")
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for rows.Next() {
		var n, ty string
		if err := rows.Scan(&n, &ty); err != nil {
			t.Fatal(err)
		}
		got = append(got, n+" "+ty)
	}
	rows.Close()
	for _, c := range store.FlowColumns() {
		want = append(want, c.Name+" "+c.Type)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("columns:\n got %v\nwant %v", got, want)
	}
	q := `SELECT srcaddr, direction, src_ip4, dst_ip4, hex(dst_ip6), CAST(ts_start AS VARCHAR), CAST(date AS VARCHAR), "end", source_line, vpc_id
		FROM vpc_flow_logs ORDER BY source_line`
	rows, err = r.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		vals := make([]any, 10)
		ptrs := make([]any, 10)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.TrimSpace(fmt.Sprintln(vals...)))
	}
	wantLines := []string{
		"203.0.113.7 inbound 3405803783 167772421 <nil> 2026-11-01 00:00:00 2026-11-01 1793491260 2 <nil>",
		"10.0.1.5 internal 167772421 167772681 <nil> 2026-11-01 00:00:00 2026-11-01 1793491230 3 <nil>",
		"2001:db8::1 inbound <nil> <nil> FD000000000000000000000000000005 2026-11-01 00:00:00 2026-11-01 1793491230 4 <nil>",
		"<nil> <nil> <nil> <nil> <nil> 2026-11-01 00:00:00 2026-11-01 1793491260 5 <nil>",
	}
	if strings.Join(lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("rows:\n got %s\nwant %s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
}

func TestReaderIsSandboxed(t *testing.T) {
	ctx := context.Background()
	in, data := t.TempDir(), t.TempDir()
	writeObjects(t, in, day0, 1, 10)
	s := openStore(t, data)
	if _, err := s.Ingest(ctx, localSource(t, in, source.TimeRange{}), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Reader(ctx, ReaderOptions{Setup: []string{"CREATE MACRO twice(x) AS x * 2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Twice: the second run takes the admitted-query cache.
	for i := 0; i < 2; i++ {
		if got := readerInt(t, r, "SELECT twice(count(*)) FROM vpc_flow_logs"); got != 20 {
			t.Errorf("setup macro, run %d: got %d, want 20", i+1, got)
		}
	}
	refused := []string{
		"SELECT * FROM read_csv('/etc/passwd')",
		"COPY (SELECT 1) TO '" + filepath.Join(data, "x.csv") + "'",
		"SET enable_external_access=true",
		"CREATE TABLE t AS SELECT 1",
		"SELECT 1; DROP VIEW vpc_flow_logs",
		"ATTACH '" + filepath.Join(data, "x.db") + "'",
	}
	// Each refused query twice: a refusal is never remembered as admitted.
	for _, q := range append(refused, refused...) {
		rows, err := r.Query(ctx, q)
		if err == nil {
			rows.Close()
			t.Errorf("%s: ran, want refused", q)
		}
	}
	if _, err := os.Stat(filepath.Join(data, "x.csv")); err == nil {
		t.Errorf("COPY wrote a file")
	}
}

func TestCorruptObjectAmongGoodOnes(t *testing.T) {
	ctx := context.Background()
	in, data := t.TempDir(), t.TempDir()
	writeObjects(t, in, day0, 3, 200)
	// A truncated gzip object: its first records land, it is reported damaged.
	whole := gz(flowText(42, day0.Add(time.Hour), 5000))
	if err := os.WriteFile(filepath.Join(in, "truncated.log.gz"), whole[:len(whole)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	// Bad lines in an otherwise good object go to rejects.
	bad := flowText(43, day0.Add(2*time.Hour), 10, "2 111122223333 eni-1 10.0.0.1 10.0.0.2 99999 22 6 1 40 1793491200 1793491260 ACCEPT OK", "garbage")
	if err := os.WriteFile(filepath.Join(in, "badlines.log"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, data)
	sum, err := s.Ingest(ctx, localSource(t, in, source.TimeRange{}), IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Damaged) != 1 || !strings.HasSuffix(sum.Damaged[0].Object, "truncated.log.gz") {
		t.Fatalf("damaged = %+v, want truncated.log.gz", sum.Damaged)
	}
	if sum.Ingested != 5 || sum.Rejects < 2 {
		t.Errorf("summary %+v, want 5 objects and at least 2 rejects", sum)
	}
	good := queryInt(t, s, "SELECT count(*) FROM vpc_flow_logs WHERE source_object NOT LIKE '%truncated%'")
	if good != 610 {
		t.Errorf("records of good objects = %d, want 610", good)
	}
	part := queryInt(t, s, "SELECT count(*) FROM vpc_flow_logs WHERE source_object LIKE '%truncated%'")
	if part <= 0 || part >= 5000 {
		t.Errorf("records of the truncated object = %d, want some but not all", part)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM rejects WHERE object LIKE '%badlines.log' AND line IN (3, 5) AND text <> ''"); got != 2 {
		t.Errorf("rejects rows = %d, want 2", got)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM ingested_objects WHERE damaged <> ''"); got != 1 {
		t.Errorf("damaged objects in ingested_objects = %d, want 1", got)
	}
	// A non-gzip, non-text object fails alone; a re-run does not re-add anything.
	sum, err = s.Ingest(ctx, localSource(t, in, source.TimeRange{}), IngestOptions{})
	if err != nil || sum.Ingested != 0 {
		t.Fatalf("re-run: %+v, %v", sum, err)
	}
}

func TestS3IngestWithTimeRange(t *testing.T) {
	ctx := context.Background()
	srv := s3fake.Start(t, "logs")
	for d := 0; d < 3; d++ {
		at := day0.Add(time.Duration(d)*24*time.Hour + 12*time.Hour)
		srv.Put(t, "prod/"+objectKey(at), gz(flowText(uint64(d), at, 100)))
	}
	rng := source.TimeRange{From: day0.Add(24 * time.Hour), To: day0.Add(48 * time.Hour)}
	src, err := source.Open(ctx, "s3://logs/prod/", source.Config{Range: rng, Endpoint: srv.URL, PathStyle: true, Credentials: srv.Credentials})
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, t.TempDir())
	sum, err := s.Ingest(ctx, []source.Source{src}, IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Listed != 1 || sum.Records != 100 {
		t.Fatalf("summary %+v, want the one object of 2026-11-02", sum)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM vpc_flow_logs WHERE date = DATE '2026-11-02' AND source_object LIKE 's3://logs/prod/AWSLogs/%'"); got != 100 {
		t.Errorf("rows of 2026-11-02 from S3 = %d, want 100", got)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM ingested_objects WHERE etag <> ''"); got != 1 {
		t.Errorf("objects with an ETag = %d, want 1", got)
	}
}

// TestConcurrentQueryDuringIngest queries in a loop while an ingest commits
// segment after segment: every reader sees a consistent state (rows match
// the objects recorded as ingested) and counts never go down.
func TestConcurrentQueryDuringIngest(t *testing.T) {
	ctx := context.Background()
	in, data := t.TempDir(), t.TempDir()
	writeObjects(t, in, day0, 24, 400)
	s := openStore(t, data)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var readerErr error
	var seen []int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			r, err := s.Reader(ctx, ReaderOptions{})
			if err != nil {
				readerErr = err
				return
			}
			rows := readerInt(t, r, "SELECT count(*) FROM vpc_flow_logs")
			recs := readerInt(t, r, "SELECT coalesce(sum(records), 0) FROM ingested_objects")
			r.Close()
			if rows != recs {
				readerErr = fmt.Errorf("reader saw %d rows but %d records of ingested objects", rows, recs)
				return
			}
			seen = append(seen, rows)
		}
	}()
	sum, err := s.Ingest(ctx, localSource(t, in, source.TimeRange{}), IngestOptions{CommitRows: 800, Workers: 2})
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if readerErr != nil {
		t.Fatal(readerErr)
	}
	if sum.Records != 24*400 {
		t.Fatalf("ingested %d records, want %d", sum.Records, 24*400)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Fatalf("counts went down: %v", seen)
		}
	}
	if len(seen) == 0 {
		t.Fatalf("no query ran during the ingest")
	}
}

// TestIngestChild is the helper process of TestKillMidIngest.
func TestIngestChild(t *testing.T) {
	in, data := os.Getenv("FLOWHUNT_CHILD_IN"), os.Getenv("FLOWHUNT_CHILD_DATA")
	if in == "" {
		return // only runs as a child
	}
	s := openStore(t, data)
	_, err := s.Ingest(context.Background(), localSource(t, in, source.TimeRange{}), IngestOptions{
		CommitRows: 1000, Workers: 2,
		Progress: func(p Progress) { fmt.Printf("progress %d\n", p.Objects) },
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestKillMidIngest SIGKILLs an ingest after it has committed some objects
// and before it is done, then re-runs it: every record is stored exactly once.
func TestKillMidIngest(t *testing.T) {
	in, data := t.TempDir(), t.TempDir()
	const objects, recs = 60, 2000
	writeObjects(t, in, day0, objects, recs)
	cmd := exec.Command(os.Args[0], "-test.run=^TestIngestChild$", "-test.v")
	cmd.Env = append(os.Environ(), "FLOWHUNT_CHILD_IN="+in, "FLOWHUNT_CHILD_DATA="+data)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	n := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "progress ") {
			n++
			if n == 5 { // a commit happens every object or so; kill in the middle
				break
			}
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if n < 5 {
		t.Fatalf("child ended before it was killed (%d progress lines)", n)
	}
	s := openStore(t, data)
	m, err := s.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	before := len(m.Objects)
	if before >= objects {
		t.Fatalf("the child finished (%d objects) before it was killed", before)
	}
	sum, err := s.Ingest(context.Background(), localSource(t, in, source.TimeRange{}), IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Unchanged != before || sum.Ingested != objects-before {
		t.Errorf("re-run: %+v, want %d unchanged", sum, before)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM vpc_flow_logs"); got != objects*recs {
		t.Errorf("count = %d, want %d", got, objects*recs)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM (SELECT DISTINCT source_object, source_line FROM vpc_flow_logs)"); got != objects*recs {
		t.Errorf("distinct (object, line) = %d, want %d", got, objects*recs)
	}
	// Files of the killed run that no manifest lists were removed.
	m, _ = s.Manifest()
	live := m.live()
	filepath.Walk(filepath.Join(data, "flows"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(data, p)
			if !live[filepath.ToSlash(rel)] {
				t.Errorf("orphan file left: %s", rel)
			}
		}
		return nil
	})
}

func TestPutTableAndRetention(t *testing.T) {
	ctx := context.Background()
	in, data := t.TempDir(), t.TempDir()
	writeObjects(t, in, day0, 1, 10)
	writeObjects(t, in, day0.Add(48*time.Hour), 1, 20)
	s := openStore(t, data)
	if _, err := s.Ingest(ctx, localSource(t, in, source.TimeRange{}), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	cols := []store.Column{{Name: "event_name", Type: "VARCHAR"}, {Name: "n", Type: "BIGINT"}, {Name: "at", Type: "TIMESTAMP"}}
	rows := [][]any{{"AuthorizeSecurityGroupIngress", int64(1), day0}, {"DeleteFlowLogs", int64(2), day0}}
	if err := s.PutTable(ctx, "cloudtrail", cols, rows, true); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTable(ctx, "cloudtrail", cols, rows[:1], false); err != nil {
		t.Fatal(err)
	}
	if got := queryInt(t, s, "SELECT sum(n) FROM cloudtrail"); got != 4 {
		t.Errorf("cloudtrail sum = %d, want 4", got)
	}
	if err := s.PutTable(ctx, "vpc_flow_logs", cols, rows, true); err == nil {
		t.Errorf("PutTable over vpc_flow_logs succeeded")
	}
	r, err := s.Reader(ctx, ReaderOptions{From: day0.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got := readerInt(t, r, "SELECT count(*) FROM vpc_flow_logs"); got != 20 {
		t.Errorf("rows from 2026-11-03 = %d, want 20", got)
	}
	r.Close()
	expired, err := s.Expire(ctx, day0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(expired, ",") != "2026-11-01" {
		t.Errorf("expired %v, want [2026-11-01]", expired)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM vpc_flow_logs"); got != 20 {
		t.Errorf("rows after retention = %d, want 20", got)
	}
}

// TestCompaction ingests objects one run at a time, as a cron job would:
// small segments of a day are merged, and counts stay exact, also when an
// object of a merged segment changes afterwards.
func TestCompaction(t *testing.T) {
	ctx := context.Background()
	in, data := t.TempDir(), t.TempDir()
	s := openStore(t, data)
	var paths []string
	for i := 0; i < compactMinFiles+1; i++ {
		at := day0.Add(time.Duration(i) * 5 * time.Minute)
		paths = append(paths, writeObjects(t, filepath.Join(in, fmt.Sprint(i)), at, 1, 100)...)
		if _, err := s.Ingest(ctx, localSource(t, in, source.TimeRange{}), IngestOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := s.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	flows := 0
	for _, seg := range m.Segments {
		if seg.Kind == KindFlows {
			flows++
			if !hasAllColumns(seg.Columns, store.FlowColumns()) {
				t.Errorf("segment %s holds %d columns, want every flow column", seg.Path, len(seg.Columns))
			}
		}
	}
	if flows > 2 {
		t.Errorf("%d flow segments after %d runs, want them compacted", flows, compactMinFiles+1)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM vpc_flow_logs"); got != int64(100*len(paths)) {
		t.Fatalf("count = %d, want %d", got, 100*len(paths))
	}
	if err := os.WriteFile(paths[0], gz(flowText(7, day0, 30)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, localSource(t, in, source.TimeRange{}), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM vpc_flow_logs"); got != int64(100*(len(paths)-1)+30) {
		t.Fatalf("count after a change = %d, want %d", got, 100*(len(paths)-1)+30)
	}
}

// TestBufferedRowsBounded ingests objects of three days with a small
// budget of buffered rows: row groups are written early, so a worker never
// holds much more than the budget in memory, and every row still lands in
// its day.
func TestBufferedRowsBounded(t *testing.T) {
	defer func(old int) { maxBufferedRows = old }(maxBufferedRows)
	maxBufferedRows = 500
	const recs = 120
	ctx := context.Background()
	in, data := t.TempDir(), t.TempDir()
	for d := 0; d < 3; d++ {
		writeObjects(t, filepath.Join(in, fmt.Sprint(d)), day0.Add(time.Duration(d)*24*time.Hour+23*time.Hour), 6, recs)
	}
	s := openStore(t, data)
	sum, err := s.Ingest(ctx, localSource(t, in, source.TimeRange{}), IngestOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 3*6*recs {
		t.Fatalf("ingested %d records, want %d", sum.Records, 3*6*recs)
	}
	r, err := s.Reader(ctx, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for d := 0; d < 3; d++ {
		day := day0.Add(time.Duration(d) * 24 * time.Hour).Format("2006-01-02")
		if got := readerInt(t, r, "SELECT count(*) FROM vpc_flow_logs WHERE date = DATE '"+day+"'"); got != 6*recs {
			t.Errorf("%s: %d rows, want %d", day, got, 6*recs)
		}
	}
	m, err := s.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	groups, largest := 0, int64(0)
	for _, seg := range m.Segments {
		if seg.Kind != KindFlows {
			continue
		}
		path := quoteString(filepath.Join(data, filepath.FromSlash(seg.Path)))
		groups += int(readerInt(t, r, "SELECT count(DISTINCT row_group_id) FROM parquet_metadata("+path+")"))
		if n := readerInt(t, r, "SELECT max(row_group_num_rows) FROM parquet_metadata("+path+")"); n > largest {
			largest = n
		}
	}
	// A batch of one object lands before the budget is checked.
	if largest > int64(maxBufferedRows+recs) || groups < 3*6*recs/(maxBufferedRows+recs) {
		t.Fatalf("%d row groups, the largest of %d rows: the budget of %d buffered rows was not kept", groups, largest, maxBufferedRows)
	}
}
