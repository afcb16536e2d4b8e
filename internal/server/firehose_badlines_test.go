package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// TestFirehoseBadLineRecords: each bad line of an accepted request is
// listed by GET /api/v1/ingest against its request and the record that
// carried it, whatever the record's shape (several lines, a CloudWatch Logs
// payload, blank lines between) and counted once in the metrics.
func TestFirehoseBadLineRecords(t *testing.T) {
	b := newMemBackend(t, 10)
	ts, _ := newTestServer(t, b, nil)
	msg := func(s string) []byte { m, _ := json.Marshal(map[string]string{"message": s}); return m }
	const bad = "2 not a flow line"
	reqs := []struct {
		id      string
		records [][]byte
		want    []string // "record:line"
	}{
		{"bl-1", [][]byte{
			[]byte(flowLine(1) + "\n"),
			[]byte(bad + "\n"), // record 1, line 2
			[]byte(flowLine(2) + "\n\n" + bad + "\n" + flowLine(3)), // record 2, lines 3-5: 4 is bad
			cwlPayload(t, "CONTROL_MESSAGE", "CWL CONTROL MESSAGE"),
			cwlPayload(t, "DATA_MESSAGE", flowLine(4), bad), // record 4, lines 6-7: 7 is bad
			msg(bad), // record 5, line 8
		}, []string{"1:2", "2:4", "4:7", "5:8"}},
		{"bl-2", [][]byte{[]byte(flowLine(5)), []byte(flowLine(6))}, nil},
		{"bl-3", [][]byte{[]byte(bad), []byte(flowLine(7))}, []string{"0:1"}},
	}
	for _, r := range reqs {
		if code, res := postFirehose(t, ts.URL, r.id, "fh-key", firehoseBody(r.id, r.records...), false); code != 200 {
			t.Fatalf("%s: %d %v", r.id, code, res)
		}
	}
	var out struct {
		Bad []struct {
			RequestID string `json:"request_id"`
			Record    int    `json:"record"`
			Line      int64  `json:"line"`
			Reason    string `json:"reason"`
		} `json:"firehose_bad_lines"`
	}
	if code := call(t, ts, "GET", "/api/v1/ingest", nil, &out); code != 200 {
		t.Fatalf("ingest: %d", code)
	}
	got := map[string][]string{}
	for _, l := range out.Bad {
		if l.Reason == "" {
			t.Errorf("bad line %s:%d without a reason", l.RequestID, l.Line)
		}
		got[l.RequestID] = append(got[l.RequestID], fmt.Sprintf("%d:%d", l.Record, l.Line))
	}
	for _, r := range reqs {
		g := got[r.id]
		sort.Strings(g)
		if strings.Join(g, " ") != strings.Join(r.want, " ") {
			t.Errorf("%s: bad lines (record:line) %v, want %v", r.id, g, r.want)
		}
	}
	if n := metricValue(t, ts.URL, "flowhunt_ingest_bad_lines_total"); n != "5" {
		t.Errorf("flowhunt_ingest_bad_lines_total %s, want 5", n)
	}
}

// metricValue reads one unlabelled series of /metrics.
func metricValue(t *testing.T, url, name string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return ""
}
