package local_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/server"
)

// metric reads one unlabelled series of the server's /metrics.
func (e *env) metric(t testing.TB, name string) int64 {
	t.Helper()
	req, _ := http.NewRequest("GET", e.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// storeFiles counts the files of the data directory this process holds
// open.
func storeFiles(t testing.TB, dir string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if p, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(p, dir) {
			n++
		}
	}
	return n
}

// TestReadersAcrossFirehoseCommits: queries running while Firehose requests
// commit see whole requests only, every request acknowledged before they
// started, and none not yet sent; readers of old generations are closed.
func TestReadersAcrossFirehoseCommits(t *testing.T) {
	e := newEnv(t, 1, 0.05, false)
	const (
		senders  = 2
		requests = 15 // per sender
		perReq   = 200
		queriers = 3
	)
	var lines []string
	for i := 0; i < perReq; i++ {
		lines = append(lines, flowLine(3, i))
	}
	var started, acked atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			for n := 0; n < requests; n++ {
				id := fmt.Sprintf("rw-%d-%d", s, n)
				started.Add(1)
				if code, err := post(http.DefaultClient, e.url, id, "fh-secret", firehoseRequest(id, lines)); err != nil || code != 200 {
					t.Errorf("post %s: %d %v", id, code, err)
					return
				}
				acked.Add(1)
			}
		}(s)
	}
	var qwg sync.WaitGroup
	var queries atomic.Int64
	for q := 0; q < queriers; q++ {
		qwg.Add(1)
		go func() {
			defer qwg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				lo := acked.Load() * perReq
				rows, err := e.query(t, `SELECT count(*) FROM vpc_flow_logs WHERE source_object LIKE 'firehose/%'`)
				hi := started.Load() * perReq
				if err != nil {
					t.Error(err)
					return
				}
				got := int64(rows[0][0].(float64))
				if got%perReq != 0 || got < lo || got > hi {
					t.Errorf("query saw %d firehose records: want a multiple of %d in [%d, %d]", got, perReq, lo, hi)
					return
				}
				queries.Add(1)
			}
		}()
	}
	wg.Wait()
	close(done)
	qwg.Wait()
	max := int64(max(4, 2*runtime.GOMAXPROCS(0))) // server.Config.MaxReaders
	if open := e.metric(t, "flowhunt_readers_open"); open > max {
		t.Errorf("%d readers open after the run, bound %d", open, max)
	}
	// One more commit: the first query after it closes every idle reader
	// of the older generations and opens one.
	if code, err := post(http.DefaultClient, e.url, "rw-last", "fh-secret", firehoseRequest("rw-last", lines)); err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	rows, err := e.query(t, `SELECT count(*) FROM vpc_flow_logs WHERE source_object LIKE 'firehose/%'`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := int64(rows[0][0].(float64)), int64(senders*requests+1)*perReq; got != want {
		t.Errorf("query after the last delivery saw %d records, want %d", got, want)
	}
	if open := e.metric(t, "flowhunt_readers_open"); open != 1 {
		t.Errorf("%d readers open after a commit and one query, want 1", open)
	}
	if n := storeFiles(t, e.backend.Store().Dir()); n != 0 {
		t.Errorf("%d store files held open by idle readers, want 0", n)
	}
	t.Logf("%d queries during %d deliveries; %d readers opened, %d requests reused one",
		queries.Load(), senders*requests, e.metric(t, "flowhunt_readers_opened_total"), e.metric(t, "flowhunt_readers_reused_total"))
}

// freshStore hides the backend's Generation: the server then opens a
// reader per request, as before readers were kept.
type freshStore struct{ b server.Store }

func (f freshStore) Reader(ctx context.Context, from, to time.Time) (server.Reader, error) {
	return f.b.Reader(ctx, from, to)
}

// BenchmarkAPIQuery: POST /api/v1/query on a store that does not change,
// with a reader per request (fresh) and with readers kept (reuse); prints
// the ratio.
func BenchmarkAPIQuery(b *testing.B) {
	e := newEnv(b, 2, 0.2, false)
	body := `{"query":"SELECT action, count(*), sum(bytes) FROM vpc_flow_logs GROUP BY action"}`
	per := map[string]time.Duration{}
	for _, mode := range []string{"fresh", "reuse"} {
		deps := e.backend.Deps()
		if mode == "fresh" {
			deps.Store = freshStore{deps.Store}
		}
		srv, err := server.New(server.Config{Token: token}, deps)
		if err != nil {
			b.Fatal(err)
		}
		h := srv.Handler()
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest("POST", "/api/v1/query", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
			per[mode] = b.Elapsed() / time.Duration(b.N)
		})
		srv.Close()
	}
	if per["fresh"] > 0 && per["reuse"] > 0 {
		fmt.Printf("api query: fresh reader %s, reused reader %s per request: %.2fx faster\n",
			per["fresh"].Round(time.Microsecond), per["reuse"].Round(time.Microsecond), float64(per["fresh"])/float64(per["reuse"]))
	}
}
