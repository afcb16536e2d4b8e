package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/flowhunt/flowhunt/internal/server"
)

const testToken = "0123456789abcdef0123456789abcdef"

func newTestServer(t *testing.T, b *memBackend, mod func(*server.Config)) (*httptest.Server, *server.Server) {
	t.Helper()
	cfg := server.Config{Token: testToken, FirehoseKey: "fh-key", FirehoseMaxBody: 1 << 20}
	if mod != nil {
		mod(&cfg)
	}
	s, err := server.New(cfg, b.deps())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, s
}

// call sends a request with the token and decodes the JSON answer.
func call(t *testing.T, ts *httptest.Server, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, ts.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: cannot decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

func TestAuth(t *testing.T) {
	b := newMemBackend(t, 100)
	ts, _ := newTestServer(t, b, nil)
	f := func(path, header, value string, want int) {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		if header != "" {
			req.Header.Set(header, value)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s with %s=%q: status %d, want %d", path, header, value, resp.StatusCode, want)
		}
	}
	f("/healthz", "", "", 200)
	f("/api/v1/findings", "", "", 401)
	f("/api/v1/findings", "Authorization", "Bearer wrong", 401)
	f("/api/v1/findings", "Authorization", "Bearer "+testToken[:len(testToken)-1], 401)
	f("/api/v1/findings", "Authorization", "Bearer "+testToken, 200)
	f("/api/v1/findings", "Cookie", "flowhunt_token="+testToken, 200)
	f("/api/v1/findings", "Cookie", "flowhunt_token=nope", 401)
	f("/metrics", "", "", 401)
	f("/metrics", "Authorization", "Bearer "+testToken, 200)
	f("/", "", "", 401) // the console shows the login page
	f("/", "Cookie", "flowhunt_token="+testToken, 200)
	f("/api/v1/nope", "Authorization", "Bearer "+testToken, 404)

	// POST needs JSON, so a cross-site form cannot use the cookie.
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/findings/f-scan-1/status", strings.NewReader("status=resolved"))
	req.Header.Set("Cookie", "flowhunt_token="+testToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form POST: status %d, want 415", resp.StatusCode)
	}

	// ?token= logs the browser in and drops the token from the address.
	c := ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = c.Get(ts.URL + "/?token=" + testToken)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || !strings.Contains(resp.Header.Get("Set-Cookie"), testToken) {
		t.Errorf("login link: status %d, location %q, cookie %q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Set-Cookie"))
	}
}

func TestNoAuthOnlyOnLoopback(t *testing.T) {
	f := func(addr string, ok bool) {
		t.Helper()
		cfg := server.Config{Addr: addr, NoAuth: true}
		err := cfg.Validate()
		if (err == nil) != ok {
			t.Errorf("--no-auth on %s: err %v, want ok=%v", addr, err, ok)
		}
	}
	f("127.0.0.1:8080", true)
	f("[::1]:8080", true)
	f("localhost:9000", true)
	f("0.0.0.0:8080", false)
	f(":8080", false)
	f("192.0.2.7:8080", false)
}

func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	tok, created, err := server.LoadOrCreateToken(dir)
	if err != nil || !created || len(tok) != 64 {
		t.Fatalf("first start: %q %v %v", tok, created, err)
	}
	st, err := os.Stat(filepath.Join(dir, server.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", st.Mode().Perm())
	}
	tok2, created2, err := server.LoadOrCreateToken(dir)
	if err != nil || created2 || tok2 != tok {
		t.Errorf("second start: %q %v %v, want the same token, not created", tok2, created2, err)
	}
}

// firehoseBody builds a Firehose delivery request.
func firehoseBody(id string, records ...[]byte) []byte {
	type rec struct {
		Data string `json:"data"`
	}
	req := struct {
		RequestID string `json:"requestId"`
		Timestamp int64  `json:"timestamp"`
		Records   []rec  `json:"records"`
	}{RequestID: id, Timestamp: 1793491200000}
	for _, r := range records {
		req.Records = append(req.Records, rec{base64.StdEncoding.EncodeToString(r)})
	}
	b, _ := json.Marshal(req)
	return b
}

func postFirehose(t testing.TB, url, id, key string, body []byte, gz bool) (int, map[string]any) {
	t.Helper()
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
	}
	req, _ := http.NewRequest("POST", url+"/firehose", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Firehose-Protocol-Version", "1.0")
	if id != "" {
		req.Header.Set("X-Amz-Firehose-Request-Id", id)
	}
	if key != "" {
		req.Header.Set("X-Amz-Firehose-Access-Key", key)
	}
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("firehose answer is not JSON: %q", raw)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("firehose answer Content-Type %q", resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, out
}

func flowLine(i int) string {
	return fmt.Sprintf("2 123456789012 eni-0fh%d 198.51.100.%d 10.0.1.5 %d 443 6 10 %d %d %d ACCEPT OK", i%3, i%200+1, 40000+i, 5000+i, base+100000+i, base+100060+i)
}

func cwlPayload(t testing.TB, typ string, lines ...string) []byte {
	type ev struct {
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	env := map[string]any{"owner": "123456789012", "logGroup": "vpc-flow-logs", "logStream": "eni-0fh0-all",
		"subscriptionFilters": []string{"all"}, "messageType": typ}
	var evs []ev
	for i, l := range lines {
		evs = append(evs, ev{fmt.Sprint(i), 1793491200000, l})
	}
	env["logEvents"] = evs
	b, _ := json.Marshal(env)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestFirehose(t *testing.T) {
	b := newMemBackend(t, 10)
	ts, _ := newTestServer(t, b, nil)
	fromFirehose := func() int64 { return b.count(t, `source_object LIKE 'firehose/%'`) }

	// A valid batch mixing the three record shapes is accepted and queryable.
	msg, _ := json.Marshal(map[string]string{"message": flowLine(1)})
	body := firehoseBody("req-ok-1",
		[]byte(flowLine(0)+"\n"),
		msg,
		cwlPayload(t, "DATA_MESSAGE", flowLine(2), flowLine(3)),
		cwlPayload(t, "CONTROL_MESSAGE", "CWL CONTROL MESSAGE: Checking health of destination Firehose."),
	)
	code, res := postFirehose(t, ts.URL, "req-ok-1", "fh-key", body, true)
	if code != 200 || res["requestId"] != "req-ok-1" || res["timestamp"] == nil || res["errorMessage"] != nil {
		t.Fatalf("valid batch: %d %v", code, res)
	}
	if got := fromFirehose(); got != 4 {
		t.Fatalf("stored %d records, want 4", got)
	}
	var q struct {
		Rows [][]any `json:"rows"`
	}
	if c := call(t, ts, "POST", "/api/v1/query", map[string]any{"query": "SELECT count(*) FROM vpc_flow_logs WHERE source_object = 'firehose/req-ok-1'"}, &q); c != 200 || fmt.Sprint(q.Rows) != "[[4]]" {
		t.Errorf("query after firehose: %d %v", c, q.Rows)
	}

	// A retry of the same request stores nothing twice.
	if code, _ := postFirehose(t, ts.URL, "req-ok-1", "fh-key", body, true); code != 200 {
		t.Errorf("retry: status %d", code)
	}
	if got := fromFirehose(); got != 4 {
		t.Errorf("after retry %d records, want 4", got)
	}

	// Refusals: right status, error message, request id echoed, nothing stored.
	good := firehoseBody("req-x", []byte(flowLine(9)))
	big := firehoseBody("req-x", bytes.Repeat([]byte(flowLine(9)+"\n"), 20000))
	f := func(name, id, key string, body []byte, gz bool, want int) {
		t.Helper()
		code, res := postFirehose(t, ts.URL, id, key, body, gz)
		if code != want {
			t.Errorf("%s: status %d, want %d (%v)", name, code, want, res)
		}
		if msg, _ := res["errorMessage"].(string); msg == "" {
			t.Errorf("%s: no errorMessage in %v", name, res)
		}
		if id != "" && res["requestId"] != id {
			t.Errorf("%s: requestId %v, want %s", name, res["requestId"], id)
		}
		if got := fromFirehose(); got != 4 {
			t.Errorf("%s: %d records stored, want still 4", name, got)
		}
	}
	f("missing key", "req-x", "", good, false, 401)
	f("wrong key", "req-x", "fh-kez", good, false, 403)
	f("bad JSON", "req-x", "fh-key", []byte(`{"requestId":"req-x","records":[{"data":`), false, 400)
	f("bad base64", "req-x", "fh-key", []byte(`{"requestId":"req-x","records":[{"data":"%%%"}]}`), false, 400)
	f("no records", "req-x", "fh-key", []byte(`{"requestId":"req-x"}`), false, 400)
	f("id mismatch", "req-x", "fh-key", firehoseBody("req-y", []byte(flowLine(9))), false, 400)
	f("bad gzip", "req-x", "fh-key", []byte("not gzip"), false, 400)
	f("oversize body", "req-x", "fh-key", big, false, 413)
	f("oversize after gzip", "req-x", "fh-key", big, true, 413)
	// A bad record late in the batch: the good records before it are not stored.
	f("bad record after good ones", "req-x", "fh-key", firehoseBody("req-x", []byte(flowLine(9)), []byte(flowLine(10)), []byte(`{"message":`)), false, 400)

	// A store failure is a 500 (Firehose retries) and stores nothing.
	b.failNext = errors.New("disk full")
	f("store failure", "req-z", "fh-key", firehoseBody("req-z", []byte(flowLine(11))), false, 500)
	// ... and the retry succeeds.
	if code, _ := postFirehose(t, ts.URL, "req-z", "fh-key", firehoseBody("req-z", []byte(flowLine(11))), false); code != 200 {
		t.Errorf("retry after failure: %d", code)
	}
	if got := fromFirehose(); got != 5 {
		t.Errorf("after retry %d records, want 5", got)
	}

	// Metrics count what happened.
	req, _ := http.NewRequest("GET", ts.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`flowhunt_firehose_requests_total{result="accepted"} 3`,
		`flowhunt_firehose_requests_total{result="413"} 2`,
		`flowhunt_ingest_records_total 5`,
		`flowhunt_query_duration_seconds_count 1`,
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("metrics lack %q:\n%s", want, raw)
		}
	}
}

func TestQueryAPI(t *testing.T) {
	b := newMemBackend(t, 1000)
	ts, _ := newTestServer(t, b, func(c *server.Config) { c.MaxRows = 50 })
	var res struct {
		Columns   []string `json:"columns"`
		Rows      [][]any  `json:"rows"`
		Truncated bool     `json:"truncated"`
		SQL       string   `json:"sql"`
		Error     string   `json:"error"`
	}
	// The seed's fourth query, verbatim.
	code := call(t, ts, "POST", "/api/v1/query", map[string]any{"query": server.Samples[3].Query}, &res)
	if code != 200 || len(res.Rows) == 0 || !strings.EqualFold(strings.Join(res.Columns, ","), "srcAddr,dstAddr,failed_attempts") {
		t.Fatalf("seed query 4: %d %+v", code, res)
	}
	// The row cap truncates.
	res.Rows = nil
	call(t, ts, "POST", "/api/v1/query", map[string]any{"query": "SELECT * FROM vpc_flow_logs"}, &res)
	if len(res.Rows) != 50 || !res.Truncated {
		t.Errorf("capped query: %d rows, truncated %v", len(res.Rows), res.Truncated)
	}
	// Errors are JSON with a message, not a stack trace.
	res.Error = ""
	if code := call(t, ts, "POST", "/api/v1/query", map[string]any{"query": "SELECT nope FROM vpc_flow_logs"}, &res); code != 400 || res.Error == "" {
		t.Errorf("bad query: %d %q", code, res.Error)
	}
	if code := call(t, ts, "POST", "/api/v1/query", map[string]any{"query": "x", "mode": "cypher"}, &res); code != 400 {
		t.Errorf("bad mode: %d", code)
	}
	// Request bodies are capped.
	huge := map[string]any{"query": strings.Repeat("x", 2<<20)}
	if code := call(t, ts, "POST", "/api/v1/query", huge, &res); code != 413 {
		t.Errorf("huge body: %d, want 413", code)
	}
}

func TestFindingsAPI(t *testing.T) {
	b := newMemBackend(t, 1000)
	ts, _ := newTestServer(t, b, nil)
	var list struct {
		Findings []server.Finding `json:"findings"`
		Total    int              `json:"total"`
	}
	f := func(query string, want ...string) {
		t.Helper()
		list.Findings = nil
		if code := call(t, ts, "GET", "/api/v1/findings"+query, nil, &list); code != 200 {
			t.Fatalf("list %s: %d", query, code)
		}
		var got []string
		for _, f := range list.Findings {
			got = append(got, f.ID)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("list %s: got %v, want %v", query, got, want)
		}
	}
	f("", "f-scan-1", "f-exfil-2")
	f("?severity=high", "f-scan-1")
	f("?detector=exfil_bulk", "f-exfil-2")
	f("?entity=10.0.1.10", "f-scan-1")
	f("?q=t1048", "f-exfil-2")

	var detail struct {
		Finding  server.Finding `json:"finding"`
		Evidence struct {
			Rows [][]any `json:"rows"`
		} `json:"evidence"`
	}
	if code := call(t, ts, "GET", "/api/v1/findings/f-scan-1", nil, &detail); code != 200 || len(detail.Evidence.Rows) == 0 {
		t.Fatalf("detail: %d, %d evidence rows", code, len(detail.Evidence.Rows))
	}
	if code := call(t, ts, "GET", "/api/v1/findings/nope", nil, nil); code != 404 {
		t.Errorf("unknown finding: %d", code)
	}
	if code := call(t, ts, "POST", "/api/v1/findings/f-scan-1/status", map[string]string{"status": "acknowledged"}, nil); code != 200 {
		t.Errorf("set status: %d", code)
	}
	if code := call(t, ts, "POST", "/api/v1/findings/f-scan-1/status", map[string]string{"status": "gone"}, nil); code != 400 {
		t.Errorf("bad status: %d", code)
	}
	f("?status=acknowledged", "f-scan-1")
	f("?status=open", "f-exfil-2")
}

func TestOverviewAndEntity(t *testing.T) {
	b := newMemBackend(t, 2000)
	ts, _ := newTestServer(t, b, nil)
	var ov struct {
		Totals map[string]any `json:"totals"`
		Series struct {
			Rows [][]any `json:"rows"`
		} `json:"series"`
		TopRejected struct {
			Rows [][]any `json:"rows"`
		} `json:"top_rejected"`
		Findings map[string]int `json:"findings_by_severity"`
		Ingest   map[string]any `json:"ingest"`
	}
	if code := call(t, ts, "GET", "/api/v1/overview", nil, &ov); code != 200 {
		t.Fatalf("overview: %d", code)
	}
	if fmt.Sprint(ov.Totals["flows"]) != "2000" || fmt.Sprint(ov.Totals["rejected"]) != "500" {
		t.Errorf("totals %v", ov.Totals)
	}
	if len(ov.Series.Rows) < 20 || len(ov.TopRejected.Rows) == 0 || ov.Findings["high"] != 1 {
		t.Errorf("series %d rows, top rejected %d, findings %v", len(ov.Series.Rows), len(ov.TopRejected.Rows), ov.Findings)
	}
	// A time range narrows it.
	if code := call(t, ts, "GET", "/api/v1/overview?from=2026-11-01T00:00:00Z&to=2026-11-01T01:00:00Z", nil, &ov); code != 200 || fmt.Sprint(ov.Totals["flows"]) != "60" {
		t.Errorf("one hour: %d %v", code, ov.Totals)
	}
	if code := call(t, ts, "GET", "/api/v1/overview?from=yesterday", nil, nil); code != 400 {
		t.Errorf("bad from: %d", code)
	}

	var ent struct {
		Totals   map[string]any         `json:"totals"`
		Edges    struct{ Rows [][]any } `json:"edges"`
		Ports    struct{ Rows [][]any } `json:"ports"`
		Findings []server.Finding       `json:"findings"`
	}
	if code := call(t, ts, "GET", "/api/v1/entities/ip/203.0.113.1", nil, &ent); code != 200 {
		t.Fatalf("entity: %d", code)
	}
	if len(ent.Edges.Rows) == 0 || len(ent.Ports.Rows) == 0 || len(ent.Findings) != 1 {
		t.Errorf("entity: %d edges, %d ports, %d findings", len(ent.Edges.Rows), len(ent.Ports.Rows), len(ent.Findings))
	}
	if code := call(t, ts, "GET", "/api/v1/entities/eni/eni-0a1", nil, &ent); code != 200 || fmt.Sprint(ent.Totals["flows"]) != "400" {
		t.Errorf("eni: %d %v", code, ent.Totals)
	}
	for _, bad := range []string{"/api/v1/entities/ip/not-an-ip", "/api/v1/entities/vpc/vpc-1", "/api/v1/entities/eni/x"} {
		if code := call(t, ts, "GET", bad, nil, nil); code != 400 {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
	_ = time.Second
}
