package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// The Kinesis Data Firehose HTTP endpoint delivery contract: Firehose POSTs
// {"requestId","timestamp","records":[{"data":base64}]} with the request id
// and the configured access key in headers, and treats only 200 as success;
// 413 is a permanent failure, any other code is retried with the same
// request id. Each request is stored as one object keyed by that id, so a
// retry stores nothing twice.

const (
	maxFirehoseRecords    = 10000   // Firehose sends 1–10 000 records per request
	maxFirehoseRecordData = 1024000 // bytes of one decoded record
	maxRequestIDLen       = 256
)

type firehoseRequest struct {
	RequestID string           `json:"requestId"`
	Timestamp int64            `json:"timestamp"`
	Records   []firehoseRecord `json:"records"`
}

type firehoseRecord struct {
	Data []byte `json:"data"` // encoding/json decodes the base64
}

type firehoseResponse struct {
	RequestID    string `json:"requestId"`
	Timestamp    int64  `json:"timestamp"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// firehoseError is a refusal with its HTTP status.
type firehoseError struct {
	code int
	err  error
}

func (s *Server) handleFirehose(w http.ResponseWriter, r *http.Request) {
	reqID := r.Header.Get("X-Amz-Firehose-Request-Id")
	reply := func(code int, err error) {
		res := firehoseResponse{RequestID: reqID, Timestamp: s.deps.Now().UnixMilli()}
		result := "accepted"
		if err != nil {
			msg := err.Error()
			if len(msg) > 8192 {
				msg = msg[:8192]
			}
			res.ErrorMessage = msg
			result = strconv.Itoa(code)
		}
		counter(&s.metrics.firehoseRequests, result).Add(1)
		b, _ := json.Marshal(res)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(code)
		w.Write(b)
	}
	if r.Method != http.MethodPost {
		reply(http.StatusMethodNotAllowed, errors.New("cannot accept firehose request: method must be POST"))
		return
	}
	key := r.Header.Get("X-Amz-Firehose-Access-Key")
	if key == "" && s.cfg.FirehoseKey != "" {
		reply(http.StatusUnauthorized, errors.New("cannot accept firehose request: missing X-Amz-Firehose-Access-Key"))
		return
	}
	if s.cfg.FirehoseKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.FirehoseKey)) != 1 {
		reply(http.StatusForbidden, errors.New("cannot accept firehose request: wrong X-Amz-Firehose-Access-Key"))
		return
	}
	if s.deps.Ingester == nil {
		reply(http.StatusServiceUnavailable, errors.New("cannot accept firehose request: this server has no writable store"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 170*time.Second) // Firehose waits 3 minutes
	defer cancel()
	obj, ends, ferr := s.readFirehose(w, r, reqID)
	if ferr != nil {
		if reqID == "" && obj.Key != "" {
			reqID = obj.Key
		}
		reply(ferr.code, ferr.err)
		return
	}
	reqID = obj.Key
	obj.Key = "firehose/" + obj.Key
	res, err := s.deps.Ingester.IngestObject(ctx, obj)
	if err != nil {
		reply(http.StatusInternalServerError, fmt.Errorf("cannot store firehose request %s: %w", reqID, err))
		return
	}
	if !res.Duplicate {
		s.metrics.firehoseRecords.Add(int64(len(ends)))
		s.metrics.ingestObjects.Add(1)
		s.metrics.ingestRecords.Add(res.Records)
		s.metrics.ingestRejects.Add(res.Rejects)
		s.badLines.add(reqID, ends, res, s.deps.Now())
	}
	reply(http.StatusOK, nil)
}

// maxBadLines is how many bad Firehose lines GET /api/v1/ingest keeps.
const maxBadLines = 100

// FirehoseBadLine is a line of an accepted Firehose request that went to
// the rejects table, with the request and the record that carried it.
type FirehoseBadLine struct {
	RequestID string    `json:"request_id"`
	Record    int       `json:"record"` // 0-based index in the request's records
	Line      int64     `json:"line"`   // 1-based line of the stored object firehose/<request id>
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

// badLines keeps the most recent bad Firehose lines.
type badLines struct {
	mu    sync.Mutex
	lines []FirehoseBadLine // oldest first, at most maxBadLines
	lost  int64             // requests whose bad lines could not be read back
}

// add records the bad lines of one stored request; ends[i] is the number
// of lines records 0..i unwrapped to.
func (b *badLines) add(reqID string, ends []int, res IngestResult, now time.Time) {
	if len(res.BadLines) == 0 && res.BadLinesError == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if res.BadLinesError != "" {
		b.lost++
	}
	for _, bl := range res.BadLines {
		b.lines = append(b.lines, FirehoseBadLine{RequestID: reqID, Record: recordOf(ends, bl.Line), Line: bl.Line, Reason: bl.Reason, At: now.UTC()})
	}
	if n := len(b.lines) - maxBadLines; n > 0 {
		b.lines = append(b.lines[:0], b.lines[n:]...)
	}
}

// recent returns the kept bad lines, newest first.
func (b *badLines) recent() ([]FirehoseBadLine, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]FirehoseBadLine, len(b.lines))
	for i, l := range b.lines {
		out[len(out)-1-i] = l
	}
	return out, b.lost
}

// recordOf returns the record that unwrapped to 1-based line, or -1.
func recordOf(ends []int, line int64) int {
	i := sort.SearchInts(ends, int(line))
	if i == len(ends) || line < 1 {
		return -1
	}
	return i
}

// readFirehose reads, checks and unwraps a Firehose request into one object
// of flow record lines. Nothing is stored before the whole request checks
// out. obj.Key is the request id; ends[i] is the number of lines records
// 0..i unwrapped to, so that a bad line can be traced to its record.
func (s *Server) readFirehose(w http.ResponseWriter, r *http.Request, reqID string) (Object, []int, *firehoseError) {
	limit := s.cfg.FirehoseMaxBody
	if r.ContentLength > limit {
		return Object{}, nil, &firehoseError{http.StatusRequestEntityTooLarge, fmt.Errorf("cannot accept firehose request %s: body of %d bytes exceeds %d", reqID, r.ContentLength, limit)}
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, limit)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return Object{}, nil, &firehoseError{http.StatusBadRequest, fmt.Errorf("cannot decompress firehose request %s: %w", reqID, err)}
		}
		defer zr.Close()
		body = io.LimitReader(zr, limit+1)
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Object{}, nil, &firehoseError{http.StatusRequestEntityTooLarge, fmt.Errorf("cannot accept firehose request %s: body exceeds %d bytes", reqID, limit)}
		}
		return Object{}, nil, &firehoseError{http.StatusBadRequest, fmt.Errorf("cannot read firehose request %s: %w", reqID, err)}
	}
	if int64(len(raw)) > limit {
		return Object{}, nil, &firehoseError{http.StatusRequestEntityTooLarge, fmt.Errorf("cannot accept firehose request %s: decompressed body exceeds %d bytes", reqID, limit)}
	}
	var req firehoseRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return Object{}, nil, &firehoseError{http.StatusBadRequest, fmt.Errorf("cannot parse firehose request %s: %w", reqID, err)}
	}
	if reqID == "" {
		reqID = req.RequestID
	}
	if reqID == "" {
		return Object{}, nil, &firehoseError{http.StatusBadRequest, errors.New("cannot accept firehose request: no request id (X-Amz-Firehose-Request-Id header or requestId field)")}
	}
	if req.RequestID != "" && req.RequestID != reqID {
		return Object{Key: reqID}, nil, &firehoseError{http.StatusBadRequest, fmt.Errorf("cannot accept firehose request %s: body requestId %q differs from the header", reqID, cut(req.RequestID, 64))}
	}
	if len(reqID) > maxRequestIDLen || !printable(reqID) {
		return Object{}, nil, &firehoseError{http.StatusBadRequest, fmt.Errorf("cannot accept firehose request: request id %q is not a printable id of at most %d bytes", cut(reqID, 64), maxRequestIDLen)}
	}
	if req.Records == nil {
		return Object{Key: reqID}, nil, &firehoseError{http.StatusBadRequest, fmt.Errorf("cannot accept firehose request %s: no records field", reqID)}
	}
	if len(req.Records) > maxFirehoseRecords {
		return Object{Key: reqID}, nil, &firehoseError{http.StatusRequestEntityTooLarge, fmt.Errorf("cannot accept firehose request %s: %d records exceed %d", reqID, len(req.Records), maxFirehoseRecords)}
	}
	out := make([]byte, 0, len(raw)*3/4)
	ends := make([]int, len(req.Records))
	lines := 0
	for i, rec := range req.Records {
		if len(rec.Data) > maxFirehoseRecordData {
			return Object{Key: reqID}, nil, &firehoseError{http.StatusRequestEntityTooLarge, fmt.Errorf("cannot accept firehose request %s: record %d exceeds %d bytes", reqID, i, maxFirehoseRecordData)}
		}
		var err error
		start := len(out)
		out, err = appendRecordLines(out, rec.Data, limit)
		if err != nil {
			code := http.StatusBadRequest
			if errors.Is(err, errTooLarge) {
				code = http.StatusRequestEntityTooLarge
			}
			return Object{Key: reqID}, nil, &firehoseError{code, fmt.Errorf("cannot unwrap firehose request %s record %d: %w", reqID, i, err)}
		}
		lines += bytes.Count(out[start:], []byte{'\n'})
		ends[i] = lines
	}
	return Object{Key: reqID, Body: out}, ends, nil
}

var errTooLarge = errors.New("too large")

// cwlEnvelope is a CloudWatch Logs subscription payload.
type cwlEnvelope struct {
	MessageType string `json:"messageType"`
	LogEvents   []struct {
		Message string `json:"message"`
	} `json:"logEvents"`
}

// appendRecordLines appends the flow record lines one Firehose record holds:
// a gzip'd CloudWatch Logs subscription payload (DATA_MESSAGE events;
// CONTROL_MESSAGE probes hold none), {"message":…} objects (one or several
// concatenated, as Firehose delivers VPC flow logs), or plain text lines.
func appendRecordLines(dst, data []byte, limit int64) ([]byte, error) {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return dst, fmt.Errorf("cannot decompress cloudwatch logs payload: %w", err)
		}
		plain, err := io.ReadAll(io.LimitReader(zr, limit+1))
		zr.Close()
		if err != nil {
			return dst, fmt.Errorf("cannot decompress cloudwatch logs payload: %w", err)
		}
		if int64(len(plain)) > limit {
			return dst, fmt.Errorf("cloudwatch logs payload %w: over %d bytes", errTooLarge, limit)
		}
		d := json.NewDecoder(bytes.NewReader(plain))
		for d.More() { // CloudWatch may concatenate envelopes
			var env cwlEnvelope
			if err := d.Decode(&env); err != nil {
				return dst, fmt.Errorf("cannot parse cloudwatch logs payload: %w", err)
			}
			if env.MessageType == "CONTROL_MESSAGE" {
				continue
			}
			for _, ev := range env.LogEvents {
				dst = appendLines(dst, []byte(ev.Message))
			}
		}
		return dst, nil
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if msg, ok := plainMessage(trimmed); ok {
		return appendLines(dst, msg), nil
	}
	if len(trimmed) > 0 && trimmed[0] == '{' {
		d := json.NewDecoder(bytes.NewReader(trimmed))
		for d.More() {
			var m struct {
				Message *string `json:"message"`
			}
			if err := d.Decode(&m); err != nil {
				return dst, fmt.Errorf("cannot parse {\"message\":…} record: %w", err)
			}
			if m.Message == nil {
				return dst, errors.New("cannot parse {\"message\":…} record: no message field")
			}
			dst = appendLines(dst, []byte(*m.Message))
		}
		return dst, nil
	}
	return appendLines(dst, data), nil
}

// plainMessage returns the message of a record that is exactly
// {"message":"…"} with no escapes in the message, as VPC flow log records
// always are; other records go through the JSON decoder.
func plainMessage(b []byte) ([]byte, bool) {
	const prefix = `{"message":"`
	b = bytes.TrimRight(b, " \t\r\n")
	if !bytes.HasPrefix(b, []byte(prefix)) || !bytes.HasSuffix(b, []byte(`"}`)) || len(b) < len(prefix)+2 {
		return nil, false
	}
	msg := b[len(prefix) : len(b)-2]
	if bytes.IndexByte(msg, '"') >= 0 || bytes.IndexByte(msg, '\\') >= 0 {
		return nil, false
	}
	for _, c := range msg {
		if c < 0x20 {
			return nil, false // control characters are invalid in JSON strings
		}
	}
	return msg, true
}

// appendLines appends text, making sure it ends with a newline; blank lines
// are dropped (Firehose may add a newline delimiter between records).
func appendLines(dst, text []byte) []byte {
	for len(text) > 0 {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		dst = append(dst, line...)
		dst = append(dst, '\n')
	}
	return dst
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '/' || s[i] == '\\' {
			return false
		}
	}
	return true
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
