package local_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/server"
	"github.com/flowhunt/flowhunt/internal/server/local"
	"github.com/flowhunt/flowhunt/internal/simulate"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

const token = "e2e-token-0123456789abcdef0123456789"

// env is a server on loopback over a real store holding generated data.
type env struct {
	url     string
	backend *local.Backend
	gen     string
	srv     *server.Server
}

// newEnv generates a few hours of traffic, ingests it, hunts it and starts
// the server. hunt=false skips the hunt (Firehose tests).
func newEnv(t testing.TB, hours int, scale float64, hunt bool) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	gen := filepath.Join(dir, "gen")
	cfg := simulate.Config{Seed: 7, Duration: time.Duration(hours) * time.Hour, Scale: scale, NoFormats: true}
	if _, err := simulate.Generate(ctx, cfg, gen); err != nil {
		t.Fatal(err)
	}
	inv, err := enrich.LoadInventoryDir(filepath.Join(gen, "inventory"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := local.Open(ctx, local.Config{Store: duckdb.Config{Dir: filepath.Join(dir, "data")}, Inventory: inv})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	src, err := source.Open(ctx, filepath.Join(gen, "s3"), source.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Store().Ingest(ctx, []source.Source{src}, duckdb.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if hunt {
		rd, err := b.Reader(ctx, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		fs, err := b.Hunt(ctx, rd)
		rd.Close()
		if err != nil {
			t.Fatalf("hunt: %v", err)
		}
		if len(fs) == 0 {
			t.Fatal("hunt found nothing in generated data with attacks")
		}
	}
	srv, err := server.New(server.Config{Token: token, FirehoseKey: "fh-secret"}, b.Deps())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return &env{url: ts.URL, backend: b, gen: gen, srv: srv}
}

func (e *env) query(t testing.TB, sql string) ([][]any, error) {
	body, _ := json.Marshal(map[string]any{"query": sql})
	req, _ := http.NewRequest("POST", e.url+"/api/v1/query", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Rows  [][]any `json:"rows"`
		Error string  `json:"error"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("cannot decode %q: %w", raw, err)
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("query %q: %d %s", sql, resp.StatusCode, out.Error)
	}
	return out.Rows, nil
}

func flowLine(req, i int) string {
	return fmt.Sprintf("2 493812776102 eni-0f1e2d3c4b5a69788 198.51.%d.%d 10.0.1.10 %d 443 6 12 %d 1793520000 1793520060 ACCEPT OK",
		req%250, i%250+1, 1024+i%60000, 600+i)
}

func firehoseRequest(id string, records []string) []byte {
	type rec struct {
		Data string `json:"data"`
	}
	var rs []rec
	for _, r := range records {
		rs = append(rs, rec{base64.StdEncoding.EncodeToString([]byte(r + "\n"))})
	}
	b, _ := json.Marshal(map[string]any{"requestId": id, "timestamp": 1793520000000, "records": rs})
	return b
}

func post(client *http.Client, url, id, key string, body []byte) (int, error) {
	req, _ := http.NewRequest("POST", url+"/firehose", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Firehose-Request-Id", id)
	req.Header.Set("X-Amz-Firehose-Access-Key", key)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestFirehoseRealStore: a Firehose batch lands in the real store exactly
// once and is queryable at once; refused requests store nothing.
func TestFirehoseRealStore(t *testing.T) {
	e := newEnv(t, 1, 0.05, false)
	count := func() int64 {
		t.Helper()
		rows, err := e.query(t, `SELECT count(*) FROM vpc_flow_logs WHERE source_object LIKE 'firehose/%'`)
		if err != nil {
			t.Fatal(err)
		}
		return int64(rows[0][0].(float64))
	}
	var lines []string
	for i := 0; i < 500; i++ {
		lines = append(lines, flowLine(1, i))
	}
	body := firehoseRequest("e2e-req-1", lines)
	start := time.Now()
	if code, err := post(http.DefaultClient, e.url, "e2e-req-1", "fh-secret", body); err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	if got := count(); got != 500 {
		t.Fatalf("%d records queryable after the batch, want 500", got)
	}
	t.Logf("batch of 500 accepted and queryable in %s", time.Since(start))
	if code, _ := post(http.DefaultClient, e.url, "e2e-req-1", "fh-secret", body); code != 200 {
		t.Errorf("retry: %d", code)
	}
	if code, _ := post(http.DefaultClient, e.url, "e2e-req-2", "wrong", firehoseRequest("e2e-req-2", lines)); code != 403 {
		t.Errorf("wrong key: %d", code)
	}
	if code, _ := post(http.DefaultClient, e.url, "e2e-req-3", "fh-secret", []byte(`{"requestId":"e2e-req-3","records":[{"data":"!!"}]}`)); code != 400 {
		t.Errorf("bad record: %d", code)
	}
	if got := count(); got != 500 {
		t.Errorf("%d records after retry and refusals, want 500", got)
	}
}

// TestFirehoseLoad (FLOWHUNT_LOAD=1): concurrent Firehose senders on
// loopback while the console's queries run; prints records/s and the p99
// query latency during the load.
func TestFirehoseLoad(t *testing.T) {
	if !loadWanted() {
		t.Skip("set FLOWHUNT_LOAD=1 to run the Firehose load test")
	}
	e := newEnv(t, 2, 0.2, false)
	const (
		senders  = 4
		perReq   = 10000
		duration = 15 * time.Second
	)
	// Pre-build request bodies so the senders measure the server.
	bodies := make([][]byte, 8)
	for k := range bodies {
		lines := make([]string, perReq)
		for i := range lines {
			lines[i] = flowLine(k, i)
		}
		bodies[k] = firehoseRequest("x", lines)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders + 2}}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var mu sync.Mutex
	var records int64
	var failures int
	var wg sync.WaitGroup
	t0 := time.Now()
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				id := fmt.Sprintf("load-%d-%d", s, n)
				// The body's requestId is rewritten to match the header.
				body := bytes.Replace(bodies[(s+n)%len(bodies)], []byte(`"requestId":"x"`), []byte(`"requestId":"`+id+`"`), 1)
				code, err := post(client, e.url, id, "fh-secret", body)
				mu.Lock()
				if err != nil || code != 200 {
					failures++
				} else {
					records += perReq
				}
				mu.Unlock()
			}
		}(s)
	}
	var lat []time.Duration
	queries := []string{
		`SELECT action, count(*), sum(bytes) FROM vpc_flow_logs GROUP BY action`,
		`SELECT srcaddr, sum(bytes) AS b FROM vpc_flow_logs GROUP BY srcaddr ORDER BY b DESC LIMIT 10`,
		`SELECT srcAddr, dstAddr, COUNT(*) AS failed_attempts FROM vpc_flow_logs WHERE action = 'REJECT' GROUP BY srcAddr, dstAddr HAVING failed_attempts > 10`,
	}
	// The console's side: a dashboard refreshing its queries, two a second
	// (queries back to back would measure a query flood, not a console).
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ctx.Err() == nil; i++ {
		select {
		case <-ctx.Done():
			continue
		case <-tick.C:
		}
		q0 := time.Now()
		if _, err := e.query(t, queries[i%len(queries)]); err != nil {
			t.Errorf("query during load: %v", err)
			break
		}
		lat = append(lat, time.Since(q0))
	}
	wg.Wait()
	elapsed := time.Since(t0)
	rate := float64(records) / elapsed.Seconds()
	p99 := percentile(lat, 0.99)
	fmt.Printf("firehose load: %d records in %s = %.0f records/s (%d senders, %d records/request, %d failed requests); %d queries during load, p50 %s, p99 %s\n",
		records, elapsed.Round(time.Millisecond), rate, senders, perReq, failures, len(lat), percentile(lat, 0.5).Round(time.Millisecond), p99.Round(time.Millisecond))
	if failures > 0 {
		t.Errorf("%d requests failed", failures)
	}
	if rate < 100000 {
		t.Errorf("firehose sustained %.0f records/s, want >= 100000", rate)
	}
	rows, err := e.query(t, `SELECT count(*) FROM vpc_flow_logs WHERE source_object LIKE 'firehose/%'`)
	if err != nil || int64(rows[0][0].(float64)) != records {
		t.Errorf("stored %v firehose records, want %d (%v)", rows, records, err)
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[int(float64(len(s)-1)*p)]
}

var _ = strings.TrimSpace

// TestWatchPollsNewObjects: --watch ingests what appeared since the last
// poll, and nothing twice.
func TestWatchPollsNewObjects(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	gen := filepath.Join(dir, "gen")
	if _, err := simulate.Generate(ctx, simulate.Config{Seed: 3, Duration: time.Hour, Scale: 0.05, NoFormats: true, NoSideFiles: true}, gen); err != nil {
		t.Fatal(err)
	}
	b, err := local.Open(ctx, local.Config{Store: duckdb.Config{Dir: filepath.Join(dir, "data")}, Watch: []string{filepath.Join(gen, "s3")}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Deps().Watcher == nil {
		t.Fatal("a backend with --watch sources has no watcher")
	}
	n1, err := b.Poll(ctx)
	if err != nil || n1 == 0 {
		t.Fatalf("first poll: %d objects, %v", n1, err)
	}
	n2, err := b.Poll(ctx)
	if err != nil || n2 != 0 {
		t.Errorf("second poll: %d objects, %v; want 0", n2, err)
	}
	// A new object appears: the next poll takes it alone.
	if _, err := simulate.Generate(ctx, simulate.Config{Seed: 3, Start: simulate.DefaultStart.Add(time.Hour), Duration: time.Hour, Scale: 0.05, NoFormats: true, NoSideFiles: true}, gen); err != nil {
		t.Fatal(err)
	}
	n3, err := b.Poll(ctx)
	if err != nil || n3 == 0 {
		t.Errorf("poll after new objects: %d objects, %v", n3, err)
	}
}
