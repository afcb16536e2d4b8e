package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/server"
	"github.com/flowhunt/flowhunt/internal/store"
)

// scriptedHunter returns one scripted list of findings per run and reports
// each run on a channel.
type scriptedHunter struct {
	mu   sync.Mutex
	runs [][]server.Finding
	done chan int
	n    int
}

func (h *scriptedHunter) Hunt(ctx context.Context, q store.Querier) ([]server.Finding, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var fs []server.Finding
	if h.n < len(h.runs) {
		fs = h.runs[h.n]
	}
	h.n++
	select {
	case h.done <- h.n:
	default:
	}
	return fs, nil
}

func TestScheduledHuntPostsNewFindings(t *testing.T) {
	b := newMemBackend(t, 10) // holds f-scan-1 (high) and f-exfil-2 (medium) before the first hunt
	posted := make(chan server.WebhookPayload, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p server.WebhookPayload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		posted <- p
	}))
	defer hook.Close()
	crit := server.Finding{ID: "f-new-crit", Detector: "c2_beacon", Title: "Beacon", Severity: "critical"}
	low := server.Finding{ID: "f-new-low", Detector: "unusual_port", Title: "Odd port", Severity: "low"}
	old := b.findings[0] // already known: never posted
	h := &scriptedHunter{
		runs: [][]server.Finding{{old, crit, low}, {old, crit, low}, {old, crit, low}},
		done: make(chan int, 10),
	}
	d := b.deps()
	d.Hunter = h
	srv, err := server.New(server.Config{Token: testToken, HuntEvery: 5 * time.Millisecond, Webhook: hook.URL, WebhookMin: "high"}, d)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln, nil) }()
	for n := 0; n < 3; n = <-h.done { // three hunts ran
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	close(posted)
	var got []string
	for p := range posted {
		if p.Event != "finding.new" || p.Source != "flowhunt" {
			t.Errorf("payload %+v", p)
		}
		got = append(got, p.Finding.ID)
	}
	if len(got) != 1 || got[0] != "f-new-crit" {
		t.Errorf("webhook got %v, want exactly [f-new-crit]: new, at or above high, once", got)
	}
}
