package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/flowhunt/flowhunt/internal/store"
	"io"
	"math"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

func (s *Server) routes() {
	mux := http.NewServeMux()
	api := func(pattern, name string, h http.HandlerFunc) {
		mux.Handle(pattern, s.counted(name, s.requireAPI(s.bounded(h))))
	}
	mux.Handle("GET /healthz", s.counted("healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})))
	mux.Handle("GET /metrics", s.counted("metrics", s.requireAPI(http.HandlerFunc(s.handleMetrics))))
	mux.Handle("/firehose", s.counted("firehose", http.HandlerFunc(s.handleFirehose)))
	mux.Handle("/login", s.counted("login", http.HandlerFunc(s.handleLogin)))

	api("GET /api/v1/status", "status", s.handleStatus)
	api("GET /api/v1/overview", "overview", s.handleOverview)
	api("POST /api/v1/query", "query", s.handleQuery)
	api("GET /api/v1/samples", "samples", s.handleSamples)
	api("GET /api/v1/findings", "findings", s.handleFindings)
	api("GET /api/v1/findings/{id}", "finding", s.handleFinding)
	api("POST /api/v1/findings/{id}/status", "finding_status", s.handleFindingStatus)
	api("POST /api/v1/hunt", "hunt", s.handleHunt)
	api("GET /api/v1/entities/{kind}/{value}", "entity", s.handleEntity)
	api("GET /api/v1/audit", "audit", s.handleAudit)
	api("GET /api/v1/ingest", "ingest", s.handleIngest)
	mux.Handle("/api/", s.counted("api_unknown", s.requireAPI(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("cannot find API endpoint %s %s", r.Method, r.URL.Path))
	}))))
	mux.Handle("/", s.counted("console", s.requireConsole(consoleHandler())))
	s.mux = mux
}

// bounded gives every API handler a deadline and caps its request body.
func (s *Server) bounded(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.HandlerTimeout)
		defer cancel()
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		h(w, r.WithContext(ctx))
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]string{"error": "cannot encode response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b)
	w.Write([]byte("\n"))
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("cannot read request body: over %d bytes", mbe.Limit))
			return false
		}
		writeError(w, http.StatusBadRequest, fmt.Errorf("cannot parse request body: %w", err))
		return false
	}
	return true
}

// timeRange reads ?from= and ?to= (RFC 3339, or a duration such as 24h
// meaning "that long before to/now").
func (s *Server) timeRange(r *http.Request) (from, to time.Time, err error) {
	q := r.URL.Query()
	if v := q.Get("to"); v != "" {
		if to, err = time.Parse(time.RFC3339, v); err != nil {
			return from, to, fmt.Errorf("cannot parse to %q: want RFC 3339 such as 2026-11-01T00:00:00Z", cut(v, 40))
		}
	}
	if v := q.Get("from"); v != "" {
		if d, derr := time.ParseDuration(v); derr == nil {
			end := to
			if end.IsZero() {
				end = s.deps.Now()
			}
			from = end.Add(-d)
		} else if from, err = time.Parse(time.RFC3339, v); err != nil {
			return from, to, fmt.Errorf("cannot parse from %q: want RFC 3339 or a duration such as 24h", cut(v, 40))
		}
	}
	return from, to, nil
}

// where returns the SQL condition and arguments of a time range.
func rangeWhere(from, to time.Time) (string, []any) {
	var conds []string
	var args []any
	// "start" is whole seconds: start >= from exactly when start >=
	// ceil(from), the same rows the reader's range keeps.
	if !from.IsZero() {
		conds = append(conds, `"start" >= ?`)
		args = append(args, ceilUnix(from))
	}
	if !to.IsZero() {
		conds = append(conds, `"start" < ?`)
		args = append(args, ceilUnix(to))
	}
	if len(conds) == 0 {
		return "TRUE", nil
	}
	return strings.Join(conds, " AND "), args
}

func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

// reader returns a store reader for the request's time range, one kept
// from an earlier request when the store has not changed since.
func (s *Server) reader(ctx context.Context, from, to time.Time) (Reader, error) {
	rd, err := s.readers.get(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("cannot open store: %w", err)
	}
	return rd, nil
}

// dayReader is reader over the whole UTC days [from, to) touches, for
// handlers whose every query filters the range itself (rangeWhere): a
// range relative to now then maps to the same reader all day long.
func (s *Server) dayReader(ctx context.Context, from, to time.Time) (Reader, error) {
	if !from.IsZero() {
		from = from.UTC().Truncate(24 * time.Hour)
	}
	if !to.IsZero() {
		if d := to.UTC().Truncate(24 * time.Hour); d.Before(to) {
			to = d.Add(24 * time.Hour)
		} else {
			to = d
		}
	}
	return s.reader(ctx, from, to)
}

// queryRows runs internal (trusted, parameterised) SQL and returns its rows
// as JSON-ready values.
func queryRows(ctx context.Context, rd Reader, maxRows int, sql string, args ...any) (*Result, error) {
	rows, err := rd.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: cols, Rows: [][]any{}}
	for rows.Next() {
		if len(res.Rows) >= maxRows {
			res.Truncated = true
			break
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			vals[i] = JSONValue(v)
		}
		res.Rows = append(res.Rows, vals)
	}
	return res, rows.Err()
}

// JSONValue turns a value scanned from the store into one JSON can carry
// and people can read: times as RFC 3339, 4- or 16-byte blobs as addresses,
// NaN as null.
func JSONValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int, int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	case float32:
		return JSONValue(float64(x))
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case []byte:
		if a, ok := netip.AddrFromSlice(x); ok && (len(x) == 16 || len(x) == 4) {
			return a.Unmap().String()
		}
		return hex.EncodeToString(x)
	case interface{ Float64() float64 }:
		return JSONValue(x.Float64())
	case fmt.Stringer:
		s := x.String()
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
		return s
	case json.Marshaler:
		return x
	}
	return fmt.Sprint(v)
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	st := map[string]any{
		"auth": s.token != "",
		"features": map[string]bool{
			"firehose": s.deps.Ingester != nil, "findings": s.deps.Findings != nil,
			"hunt": s.deps.Hunter != nil, "audit": s.deps.Auditor != nil,
			"inventory": s.deps.Inventory != nil, "watch": s.deps.Watcher != nil,
		},
		"hunt_every":       s.cfg.HuntEvery.String(),
		"scheduled_hunts":  s.hunts,
		"last_hunt":        timeOrNil(s.lastHunt),
		"last_hunt_error":  s.lastHuntErr,
		"last_watch":       timeOrNil(s.lastWatch),
		"last_watch_error": s.lastWatchErr,
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// bucketFor picks a bucket width (seconds) giving at most ~240 points.
func bucketFor(from, to int64) int64 {
	span := to - from
	for _, b := range []int64{60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400} {
		if span/b <= 240 {
			return b
		}
	}
	return 30 * 86400
}

func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request) {
	from, to, err := s.timeRange(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ctx := r.Context()
	rd, err := s.dayReader(ctx, from, to)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	defer rd.Close()
	cond, args := rangeWhere(from, to)
	start := time.Now()
	out := map[string]any{}
	totals, err := queryRows(ctx, rd, 1, `SELECT count(*) AS flows, coalesce(sum(bytes), 0) AS bytes, coalesce(sum(packets), 0) AS packets,
		coalesce(sum(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END), 0) AS rejected, min("start") AS first, max("end") AS last,
		count(DISTINCT interface_id) AS enis FROM vpc_flow_logs WHERE `+cond, args...)
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("cannot summarise flows: %w", err))
		return
	}
	out["totals"] = rowMap(totals)
	first, last := store.Int64(totals.Rows[0][4]), store.Int64(totals.Rows[0][5])
	if !from.IsZero() {
		first = from.Unix()
	}
	if !to.IsZero() {
		last = to.Unix()
	}
	b := bucketFor(first, last)
	out["bucket_seconds"] = b
	bs := strconv.FormatInt(b, 10)
	queries := []struct{ key, sql string }{
		{"series", `SELECT ("start" - "start" % ` + bs + `) AS t, coalesce(action, '-') AS action, count(*) AS flows,
			coalesce(sum(bytes), 0) AS bytes, coalesce(sum(packets), 0) AS packets
			FROM vpc_flow_logs WHERE ` + cond + ` AND "start" IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`},
		{"top_talkers", `SELECT srcaddr, sum(bytes) AS bytes, count(*) AS flows, count(DISTINCT dstaddr) AS peers
			FROM vpc_flow_logs WHERE ` + cond + ` AND srcaddr IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`},
		{"top_rejected", `SELECT srcaddr, count(*) AS rejected, count(DISTINCT dstaddr) AS targets, count(DISTINCT dstport) AS ports
			FROM vpc_flow_logs WHERE ` + cond + ` AND action = 'REJECT' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`},
		{"top_ports", `SELECT dstport, protocol, count(*) AS flows, sum(bytes) AS bytes
			FROM vpc_flow_logs WHERE ` + cond + ` AND dstport IS NOT NULL AND dstport < 32768 GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 10`},
	}
	for _, q := range queries {
		res, err := queryRows(ctx, rd, 5000, q.sql, args...)
		if err != nil {
			writeError(w, http.StatusInternalServerError, fmt.Errorf("cannot compute %s: %w", q.key, err))
			return
		}
		out[q.key] = res
	}
	sev := map[string]int{}
	if s.deps.Findings != nil {
		if fs, err := s.deps.Findings.List(ctx); err == nil {
			for _, f := range fs {
				if f.Status == "" || f.Status == "open" {
					sev[f.Severity]++
				}
			}
		}
	}
	out["findings_by_severity"] = sev
	out["ingest"] = s.ingestHealth(ctx, rd)
	s.metrics.observeQuery(time.Since(start))
	writeJSON(w, http.StatusOK, out)
}

// ingestHealth counts stored objects and quarantined lines. The side views
// may be absent in a store that never ingested; that is reported, not fatal.
func (s *Server) ingestHealth(ctx context.Context, rd Reader) map[string]any {
	h := map[string]any{
		"server_objects":   s.metrics.ingestObjects.Load(),
		"server_records":   s.metrics.ingestRecords.Load(),
		"server_bad_lines": s.metrics.ingestRejects.Load(),
		"firehose_records": s.metrics.firehoseRecords.Load(),
	}
	if res, err := queryRows(ctx, rd, 1, `SELECT count(*) FROM ingested_objects`); err == nil {
		h["objects"] = res.Rows[0][0]
	} else {
		h["objects_error"] = err.Error()
	}
	if res, err := queryRows(ctx, rd, 1, `SELECT count(*) FROM rejects`); err == nil {
		h["bad_lines"] = res.Rows[0][0]
	} else {
		h["bad_lines_error"] = err.Error()
	}
	return h
}

func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rd, err := s.reader(ctx, time.Time{}, time.Time{})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	defer rd.Close()
	out := s.ingestHealth(ctx, rd)
	if res, err := queryRows(ctx, rd, 50, `SELECT * FROM rejects LIMIT 50`); err == nil {
		out["recent_bad_lines"] = res
	}
	if res, err := queryRows(ctx, rd, 50, `SELECT * FROM ingested_objects LIMIT 50`); err == nil {
		out["recent_objects"] = res
	}
	if s.deps.Ingester != nil {
		bad, lost := s.badLines.recent()
		out["firehose_bad_lines"] = bad
		if lost > 0 {
			out["firehose_bad_lines_unread"] = lost
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func rowMap(res *Result) map[string]any {
	m := map[string]any{}
	if len(res.Rows) == 0 {
		return m
	}
	for i, c := range res.Columns {
		m[c] = res.Rows[0][i]
	}
	return m
}

// queryRequest is the body of POST /api/v1/query.
type queryRequest struct {
	Query   string `json:"query"`
	Mode    string `json:"mode"` // sql (default) or insights
	From    string `json:"from"`
	To      string `json:"to"`
	MaxRows int    `json:"max_rows"`
}

type queryResponse struct {
	*Result
	ElapsedMS int64 `json:"elapsed_ms"`
}

func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	var req queryRequest
	if !readJSON(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		writeError(w, http.StatusBadRequest, errors.New("cannot run query: empty query"))
		return
	}
	insights := false
	switch req.Mode {
	case "", "sql":
	case "insights":
		insights = true
	default:
		writeError(w, http.StatusBadRequest, fmt.Errorf("cannot run query: mode %q: want sql or insights", cut(req.Mode, 20)))
		return
	}
	var from, to time.Time
	var err error
	if req.From != "" {
		if from, err = time.Parse(time.RFC3339, req.From); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("cannot parse from %q: want RFC 3339", cut(req.From, 40)))
			return
		}
	}
	if req.To != "" {
		if to, err = time.Parse(time.RFC3339, req.To); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("cannot parse to %q: want RFC 3339", cut(req.To, 40)))
			return
		}
	}
	maxRows := s.cfg.MaxRows
	if req.MaxRows > 0 && req.MaxRows < maxRows {
		maxRows = req.MaxRows
	}
	res, elapsed, err := s.runQuery(r.Context(), from, to, req.Query, insights, maxRows)
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timed out") {
			code = http.StatusGatewayTimeout
		}
		writeError(w, code, err)
		return
	}
	writeJSON(w, http.StatusOK, queryResponse{Result: res, ElapsedMS: elapsed.Milliseconds()})
}

// runQuery runs a user query under the query deadline and row cap.
func (s *Server) runQuery(ctx context.Context, from, to time.Time, text string, insights bool, maxRows int) (*Result, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	start := time.Now()
	rd, err := s.reader(ctx, from, to)
	if err != nil {
		return nil, 0, err
	}
	defer rd.Close()
	res, err := s.deps.Query.Run(ctx, rd, text, insights, maxRows)
	elapsed := time.Since(start)
	s.metrics.observeQuery(elapsed)
	if err != nil {
		return nil, elapsed, err
	}
	for _, row := range res.Rows {
		for i, v := range row {
			row[i] = JSONValue(v)
		}
	}
	return res, elapsed, nil
}

func (s *Server) handleSamples(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Samples)
}

// filterFindings applies the list filters of the API.
func filterFindings(fs []Finding, q map[string][]string) []Finding {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	minSev := SeverityRank(get("severity"))
	status, detector, entity, text := get("status"), get("detector"), get("entity"), strings.ToLower(get("q"))
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		st := f.Status
		if st == "" {
			st = "open"
		}
		switch {
		case minSev > 0 && SeverityRank(f.Severity) < minSev,
			status != "" && status != "all" && st != status,
			detector != "" && f.Detector != detector,
			entity != "" && f.Entity.Value != entity && !contains(f.Counterparts, entity),
			text != "" && !strings.Contains(strings.ToLower(f.Title+" "+f.Entity.Value+" "+f.Detector+" "+strings.Join(f.MITRE, " ")+" "+strings.Join(f.Counterparts, " ")), text):
			continue
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := SeverityRank(out[i].Severity), SeverityRank(out[j].Severity)
		if a != b {
			return a > b
		}
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Server) findingsOr503(w http.ResponseWriter) bool {
	if s.deps.Findings == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("cannot list findings: no findings store is configured"))
		return false
	}
	return true
}

func (s *Server) handleFindings(w http.ResponseWriter, r *http.Request) {
	if !s.findingsOr503(w) {
		return
	}
	fs, err := s.deps.Findings.List(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("cannot list findings: %w", err))
		return
	}
	q := r.URL.Query()
	if q.Get("severity") != "" && SeverityRank(q.Get("severity")) < 0 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("cannot filter findings: severity %q: want info, low, medium, high or critical", cut(q.Get("severity"), 20)))
		return
	}
	out := filterFindings(fs, q)
	limit := 1000
	if v, err := strconv.Atoi(q.Get("limit")); err == nil && v > 0 && v < limit {
		limit = v
	}
	total := len(out)
	if len(out) > limit {
		out = out[:limit]
	}
	detectors := map[string]int{}
	for _, f := range fs {
		detectors[f.Detector]++
	}
	writeJSON(w, http.StatusOK, map[string]any{"findings": out, "total": total, "detectors": detectors})
}

func (s *Server) findFinding(ctx context.Context, id string) (*Finding, error) {
	fs, err := s.deps.Findings.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot list findings: %w", err)
	}
	for i := range fs {
		if fs[i].ID == id {
			return &fs[i], nil
		}
	}
	return nil, nil
}

func (s *Server) handleFinding(w http.ResponseWriter, r *http.Request) {
	if !s.findingsOr503(w) {
		return
	}
	id := r.PathValue("id")
	f, err := s.findFinding(r.Context(), id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if f == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("cannot find finding %q", cut(id, 80)))
		return
	}
	out := map[string]any{"finding": f}
	if f.SQL != "" {
		res, elapsed, err := s.runQuery(r.Context(), time.Time{}, time.Time{}, f.SQL, false, 500)
		if err != nil {
			out["evidence_error"] = err.Error()
		} else {
			out["evidence"] = res
			out["evidence_ms"] = elapsed.Milliseconds()
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleFindingStatus(w http.ResponseWriter, r *http.Request) {
	if !s.findingsOr503(w) {
		return
	}
	var req struct {
		Status string `json:"status"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if !contains(statuses, req.Status) {
		writeError(w, http.StatusBadRequest, fmt.Errorf("cannot set status %q: want one of %s", cut(req.Status, 30), strings.Join(statuses, ", ")))
		return
	}
	id := r.PathValue("id")
	f, err := s.findFinding(r.Context(), id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if f == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("cannot find finding %q", cut(id, 80)))
		return
	}
	if err := s.deps.Findings.SetStatus(r.Context(), id, req.Status); err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("cannot set status of finding %s: %w", id, err))
		return
	}
	f.Status = req.Status
	writeJSON(w, http.StatusOK, map[string]any{"finding": f})
}

func (s *Server) handleHunt(w http.ResponseWriter, r *http.Request) {
	if s.deps.Hunter == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("cannot hunt: no hunter is configured"))
		return
	}
	n, err := s.hunt(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"findings": n})
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	if s.deps.Auditor == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("cannot audit: no inventory loaded (load describe-security-groups and describe-network-interfaces output into the data directory)"))
		return
	}
	from, to, err := s.timeRange(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	rd, err := s.reader(r.Context(), from, to)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	defer rd.Close()
	res, err := s.deps.Auditor.Audit(r.Context(), rd)
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("cannot audit: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}
