package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/server"
	"github.com/flowhunt/flowhunt/internal/store"
)

// memBackend is an in-memory DuckDB table with the canonical schema, behind
// the server's Store, Ingester, QueryEngine and Findings interfaces. The
// server is tested against it on its own; the end-to-end test uses the real
// store.
type memBackend struct {
	db *sql.DB

	mu       sync.Mutex
	objects  map[string]bool
	findings []server.Finding
	failNext error // IngestObject fails once with this error, after decoding
}

// base is 2026-11-01T00:00:00Z.
const base = 1793491200

func newMemBackend(t testing.TB, flows int) *memBackend {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(4)
	t.Cleanup(func() { db.Close() })
	var cols []string
	for _, c := range store.FlowColumns() {
		cols = append(cols, fmt.Sprintf("%q %s", c.Name, c.Type))
	}
	mustExec(t, db, `CREATE TABLE vpc_flow_logs (`+strings.Join(cols, ", ")+`)`)
	mustExec(t, db, `CREATE TABLE ingested_objects (key VARCHAR, records BIGINT)`)
	mustExec(t, db, `CREATE TABLE rejects (object VARCHAR, line BIGINT, reason VARCHAR, text VARCHAR)`)
	// Synthetic traffic: internal hosts talking HTTPS, and every fourth
	// flow an outside scanner rejected on admin ports.
	mustExec(t, db, fmt.Sprintf(`INSERT INTO vpc_flow_logs (version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport,
		protocol, packets, bytes, "start", "end", action, log_status, date, ts_start, ts_end, direction, source_object, source_line)
		SELECT 2, '123456789012', 'eni-0a' || (i %% 5),
			CASE WHEN i %% 4 = 0 THEN '203.0.113.' || (i %% 9 + 1) ELSE '10.0.1.' || (i %% 20 + 1) END,
			CASE WHEN i %% 4 = 0 THEN '10.0.1.' || (i %% 3 + 10) ELSE '10.0.2.' || (i %% 6 + 1) END,
			1024 + i %% 30000, CASE WHEN i %% 4 = 0 THEN 22 + (i %% 3) ELSE 443 END, 6,
			10 + i %% 50, 1000 + (i * 37) %% 100000, %[1]d + i * 60, %[1]d + i * 60 + 55,
			CASE WHEN i %% 4 = 0 THEN 'REJECT' ELSE 'ACCEPT' END, 'OK',
			CAST(to_timestamp(%[1]d + i * 60) AS DATE), to_timestamp(%[1]d + i * 60)::TIMESTAMP, to_timestamp(%[1]d + i * 60 + 55)::TIMESTAMP,
			CASE WHEN i %% 4 = 0 THEN 'inbound' ELSE 'internal' END, 'synthetic', i + 1
		FROM range(%[2]d) t(i)`, base, flows))
	b := &memBackend{db: db, objects: map[string]bool{}}
	b.findings = []server.Finding{{
		ID: "f-scan-1", Detector: "port_scan", Title: "Vertical port scan from 203.0.113.1", Severity: "high", Score: 80,
		MITRE: []string{"T1046"}, Entity: server.Entity{Kind: "ip", Value: "203.0.113.1"},
		Counterparts: []string{"10.0.1.10"}, Ports: []int{22, 23, 24},
		FirstSeen: time.Unix(base, 0).UTC(), LastSeen: time.Unix(base+3600, 0).UTC(),
		Evidence: map[string]any{"flows": 12},
		SQL:      `SELECT srcaddr, dstaddr, dstport, action, "start" FROM vpc_flow_logs WHERE srcaddr = '203.0.113.1' ORDER BY "start"`,
		Status:   "open",
	}, {
		ID: "f-exfil-2", Detector: "exfil_bulk", Title: "Bulk transfer from 10.0.1.2", Severity: "medium", Score: 50,
		MITRE: []string{"T1048"}, Entity: server.Entity{Kind: "ip", Value: "10.0.1.2"},
		FirstSeen: time.Unix(base, 0).UTC(), LastSeen: time.Unix(base+7200, 0).UTC(),
		SQL:    `SELECT srcaddr, dstaddr, bytes FROM vpc_flow_logs WHERE srcaddr = '10.0.1.2'`,
		Status: "open",
	}}
	return b
}

func mustExec(t testing.TB, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
}

// Store.
func (b *memBackend) Reader(ctx context.Context, from, to time.Time) (server.Reader, error) {
	return memReader{b.db}, nil
}

type memReader struct{ db *sql.DB }

func (r memReader) Query(ctx context.Context, q string, args ...any) (store.Rows, error) {
	return r.db.QueryContext(ctx, q, args...)
}
func (r memReader) Close() error { return nil }

// QueryEngine: SQL runs as written; Insights is not understood here.
func (b *memBackend) Run(ctx context.Context, q store.Querier, text string, insights bool, maxRows int) (*server.Result, error) {
	if insights {
		return nil, fmt.Errorf("cannot translate insights query in the test backend")
	}
	sqlText := strings.TrimSuffix(strings.TrimSpace(text), ";")
	rows, err := q.Query(ctx, sqlText)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	res := &server.Result{Columns: cols, Rows: [][]any{}, SQL: sqlText}
	for rows.Next() {
		if len(res.Rows) == maxRows {
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
		res.Rows = append(res.Rows, vals)
	}
	return res, rows.Err()
}

// Ingester: decodes with flowlog.Decode and inserts in one transaction.
func (b *memBackend) IngestObject(ctx context.Context, obj server.Object) (server.IngestResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.objects[obj.Key] {
		return server.IngestResult{Duplicate: true}, nil
	}
	var recs []flowlog.Record
	var bad []server.BadLine
	_, err := flowlog.Decode(ctx, bytes.NewReader(obj.Body), flowlog.DecodeOptions{Object: obj.Key, Layout: flowlog.DefaultLayout, Format: flowlog.FormatText},
		func(bt *flowlog.Batch) error {
			for i := 0; i < bt.Len; i++ {
				var r flowlog.Record
				bt.Record(i, &r)
				recs = append(recs, r)
			}
			return nil
		}, func(r flowlog.Reject) error {
			bad = append(bad, server.BadLine{Line: r.Line, Reason: r.Reason})
			return nil
		})
	if err != nil {
		return server.IngestResult{}, err
	}
	if b.failNext != nil {
		err := b.failNext
		b.failNext = nil
		return server.IngestResult{}, err
	}
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return server.IngestResult{}, err
	}
	defer tx.Rollback()
	for i := range recs {
		r := &recs[i]
		start, _ := r.Int(flowlog.Start)
		_, err := tx.ExecContext(ctx, `INSERT INTO vpc_flow_logs (version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport,
			protocol, packets, bytes, "start", "end", action, log_status, ts_start, source_object, source_line)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, to_timestamp(?)::TIMESTAMP, ?, ?)`,
			r.Value(flowlog.Version), r.Value(flowlog.AccountID), r.Value(flowlog.InterfaceID), r.Value(flowlog.SrcAddr), r.Value(flowlog.DstAddr),
			r.Value(flowlog.SrcPort), r.Value(flowlog.DstPort), r.Value(flowlog.Protocol), r.Value(flowlog.Packets), r.Value(flowlog.Bytes),
			r.Value(flowlog.Start), r.Value(flowlog.End), r.Value(flowlog.Action), r.Value(flowlog.LogStatus), start, obj.Key, i+1)
		if err != nil {
			return server.IngestResult{}, err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ingested_objects VALUES (?, ?)`, obj.Key, len(recs)); err != nil {
		return server.IngestResult{}, err
	}
	if err := tx.Commit(); err != nil {
		return server.IngestResult{}, err
	}
	b.objects[obj.Key] = true
	return server.IngestResult{Records: int64(len(recs)), Rejects: int64(len(bad)), BadLines: bad}, nil
}

// Findings.
func (b *memBackend) List(ctx context.Context) ([]server.Finding, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]server.Finding(nil), b.findings...), nil
}

func (b *memBackend) SetStatus(ctx context.Context, id, status string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.findings {
		if b.findings[i].ID == id {
			b.findings[i].Status = status
			return nil
		}
	}
	return fmt.Errorf("cannot find finding %s", id)
}

func (b *memBackend) count(t testing.TB, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := b.db.QueryRow(`SELECT count(*) FROM vpc_flow_logs WHERE `+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (b *memBackend) deps() server.Deps {
	return server.Deps{Store: b, Query: b, Ingester: b, Findings: b}
}
