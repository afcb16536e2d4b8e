package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

type nopStore struct{}

func (nopStore) Reader(ctx context.Context, from, to time.Time) (Reader, error) { return nil, nil }

type nopQuery struct{}

func (nopQuery) Run(ctx context.Context, q store.Querier, text string, insights bool, maxRows int) (*Result, error) {
	return nil, nil
}

// countingIngester records what reached the store.
type countingIngester struct{ objects []Object }

func (c *countingIngester) IngestObject(ctx context.Context, obj Object) (IngestResult, error) {
	c.objects = append(c.objects, obj)
	return IngestResult{Records: int64(bytes.Count(obj.Body, []byte{'\n'}))}, nil
}

// FuzzFirehose: whatever the body, the endpoint answers Firehose's JSON
// shape with a known status, and stores nothing unless it answers 200.
func FuzzFirehose(f *testing.F) {
	f.Add([]byte(`{"requestId":"r1","timestamp":1,"records":[{"data":"MiAxMjM0NTY3ODkwMTIgZW5pLTEgMTAuMC4wLjEgMTAuMC4wLjIgMSAyIDYgMSA0MCAxIDIgQUNDRVBUIE9L"}]}`), false)
	f.Add([]byte(`{"requestId":"r1","records":[{"data":"eyJtZXNzYWdlIjoiMiAxIGVuaS0xIn0="}]}`), false)
	f.Add([]byte(`{"requestId":"r1","records":[]}`), false)
	f.Add([]byte(`{"requestId":"r1","records":[{"data":"H4sIAAAAAAAA/w=="}]}`), false)
	f.Add([]byte(`{"requestId":"r2","records":[{"data":"x"}]}`), true)
	f.Add([]byte(`not json`), true)
	f.Fuzz(func(t *testing.T, body []byte, gz bool) {
		ing := &countingIngester{}
		s, err := New(Config{Token: "0123456789abcdef", FirehoseMaxBody: 1 << 16}, Deps{Store: nopStore{}, Query: nopQuery{}, Ingester: ing})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/firehose", bytes.NewReader(body))
		req.Header.Set("X-Amz-Firehose-Request-Id", "r1")
		req.Header.Set("X-Amz-Firehose-Access-Key", "0123456789abcdef")
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		var res firehoseResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("answer %q is not JSON: %v", rec.Body.Bytes(), err)
		}
		if res.RequestID != "r1" || res.Timestamp == 0 {
			t.Errorf("answer %+v lacks the request id or timestamp", res)
		}
		switch rec.Code {
		case http.StatusOK:
			if res.ErrorMessage != "" {
				t.Errorf("200 with errorMessage %q", res.ErrorMessage)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if res.ErrorMessage == "" || len(ing.objects) != 0 {
				t.Errorf("%d: errorMessage %q, %d objects stored", rec.Code, res.ErrorMessage, len(ing.objects))
			}
		default:
			t.Errorf("unexpected status %d", rec.Code)
		}
	})
}

// BenchmarkFirehoseParse measures the endpoint's own work (JSON, base64,
// unwrapping) for a request of 10 000 {"message":…} records, the store left out.
func BenchmarkFirehoseParse(b *testing.B) {
	type rec struct {
		Data []byte `json:"data"` // encoding/json writes []byte as base64
	}
	var recs []rec
	for i := 0; i < 10000; i++ {
		m, _ := json.Marshal(map[string]string{"message": "2 493812776102 eni-0f1e2d3c4b5a69788 198.51.100.7 10.0.1.10 49152 443 6 12 6000 1793520000 1793520060 ACCEPT OK"})
		recs = append(recs, rec{m})
	}
	body, _ := json.Marshal(map[string]any{"requestId": "r1", "timestamp": 1, "records": recs})
	ing := &countingIngester{}
	s, err := New(Config{Token: "0123456789abcdef"}, Deps{Store: nopStore{}, Query: nopQuery{}, Ingester: ing})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ing.objects = ing.objects[:0]
		req := httptest.NewRequest("POST", "/firehose", bytes.NewReader(body))
		req.Header.Set("X-Amz-Firehose-Request-Id", "r1")
		req.Header.Set("X-Amz-Firehose-Access-Key", "0123456789abcdef")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Body.String())
		}
	}
	b.ReportMetric(float64(b.N)*10000/b.Elapsed().Seconds(), "records/s")
}
