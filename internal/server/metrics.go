package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// metrics holds the server's counters; /metrics writes them in Prometheus's
// text exposition format (version 0.0.4). A handful of series does not need
// a client library.
type metrics struct {
	firehoseRequests sync.Map // result -> *atomic.Int64
	firehoseRecords  atomic.Int64
	ingestRecords    atomic.Int64
	ingestRejects    atomic.Int64
	ingestObjects    atomic.Int64
	watchObjects     atomic.Int64
	huntRuns         atomic.Int64
	huntErrors       atomic.Int64
	webhookPosts     atomic.Int64
	webhookErrors    atomic.Int64
	httpRequests     sync.Map // "handler\x00code" -> *atomic.Int64

	queryMu  sync.Mutex
	queryDur histogram
}

func newMetrics() *metrics {
	return &metrics{queryDur: histogram{bounds: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}}
}

func counter(m *sync.Map, key string) *atomic.Int64 {
	if v, ok := m.Load(key); ok {
		return v.(*atomic.Int64)
	}
	v, _ := m.LoadOrStore(key, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// histogram is a cumulative Prometheus histogram.
type histogram struct {
	bounds []float64
	counts []int64
	sum    float64
	n      int64
}

func (h *histogram) observe(v float64) {
	if h.counts == nil {
		h.counts = make([]int64, len(h.bounds))
	}
	for i, b := range h.bounds {
		if v <= b {
			h.counts[i]++
		}
	}
	h.sum += v
	h.n++
}

func (m *metrics) observeQuery(d time.Duration) {
	m.queryMu.Lock()
	m.queryDur.observe(d.Seconds())
	m.queryMu.Unlock()
}

func writeMetric(w io.Writer, name, typ, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func sortedKeys(m *sync.Map) []string {
	var keys []string
	m.Range(func(k, _ any) bool { keys = append(keys, k.(string)); return true })
	sort.Strings(keys)
	return keys
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	m := s.metrics
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	writeMetric(w, "flowhunt_http_requests_total", "counter", "HTTP requests by handler and status code.")
	for _, k := range sortedKeys(&m.httpRequests) {
		h, code, _ := cutByte(k)
		fmt.Fprintf(w, "flowhunt_http_requests_total{handler=%q,code=%q} %d\n", h, code, counter(&m.httpRequests, k).Load())
	}
	writeMetric(w, "flowhunt_firehose_requests_total", "counter", "Firehose requests by result.")
	for _, k := range sortedKeys(&m.firehoseRequests) {
		fmt.Fprintf(w, "flowhunt_firehose_requests_total{result=%q} %d\n", k, counter(&m.firehoseRequests, k).Load())
	}
	simple := []struct {
		name, help string
		v          *atomic.Int64
	}{
		{"flowhunt_firehose_records_total", "Firehose records received in accepted requests.", &m.firehoseRecords},
		{"flowhunt_ingest_objects_total", "Objects stored by this server (Firehose requests and watched objects).", &m.ingestObjects},
		{"flowhunt_ingest_records_total", "Flow records stored by this server.", &m.ingestRecords},
		{"flowhunt_ingest_bad_lines_total", "Bad lines quarantined in the rejects table by this server's ingests.", &m.ingestRejects},
		{"flowhunt_watch_objects_total", "Objects ingested by the --watch poller.", &m.watchObjects},
		{"flowhunt_hunt_runs_total", "Scheduled hunts completed.", &m.huntRuns},
		{"flowhunt_hunt_errors_total", "Scheduled hunts that failed.", &m.huntErrors},
		{"flowhunt_webhook_posts_total", "Findings posted to the webhook.", &m.webhookPosts},
		{"flowhunt_webhook_errors_total", "Webhook posts that failed.", &m.webhookErrors},
		{"flowhunt_readers_opened_total", "Store readers opened for API requests.", &s.readers.opened},
		{"flowhunt_readers_reused_total", "API requests served by a reader kept from an earlier request.", &s.readers.reused},
	}
	for _, c := range simple {
		writeMetric(w, c.name, "counter", c.help)
		fmt.Fprintf(w, "%s %d\n", c.name, c.v.Load())
	}
	open, idle := s.readers.stats()
	writeMetric(w, "flowhunt_readers_open", "gauge", "Store readers open now, serving a request or idle.")
	fmt.Fprintf(w, "flowhunt_readers_open %d\n", open)
	writeMetric(w, "flowhunt_readers_idle", "gauge", "Store readers kept idle for the next request.")
	fmt.Fprintf(w, "flowhunt_readers_idle %d\n", idle)
	writeMetric(w, "flowhunt_query_duration_seconds", "histogram", "Latency of API queries.")
	m.queryMu.Lock()
	h := m.queryDur
	counts := append([]int64(nil), h.counts...)
	m.queryMu.Unlock()
	for i, b := range h.bounds {
		var c int64
		if counts != nil {
			c = counts[i]
		}
		fmt.Fprintf(w, "flowhunt_query_duration_seconds_bucket{le=%q} %d\n", strconv.FormatFloat(b, 'g', -1, 64), c)
	}
	fmt.Fprintf(w, "flowhunt_query_duration_seconds_bucket{le=\"+Inf\"} %d\n", h.n)
	fmt.Fprintf(w, "flowhunt_query_duration_seconds_sum %s\n", strconv.FormatFloat(h.sum, 'g', -1, 64))
	fmt.Fprintf(w, "flowhunt_query_duration_seconds_count %d\n", h.n)

	if s.deps.Findings != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if fs, err := s.deps.Findings.List(ctx); err == nil {
			by := map[string]int{}
			for _, f := range fs {
				if f.Status == "" || f.Status == "open" {
					by[f.Severity]++
				}
			}
			writeMetric(w, "flowhunt_findings_open", "gauge", "Open findings by severity.")
			for _, sev := range severities {
				fmt.Fprintf(w, "flowhunt_findings_open{severity=%q} %d\n", sev, by[sev])
			}
		}
	}
}

func cutByte(k string) (string, string, bool) {
	for i := 0; i < len(k); i++ {
		if k[i] == 0 {
			return k[:i], k[i+1:], true
		}
	}
	return k, "", false
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// counted counts a handler's requests by status code.
func (s *Server) counted(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		counter(&s.metrics.httpRequests, name+"\x00"+strconv.Itoa(rec.code)).Add(1)
	})
}
