// Package detecttest builds small in-memory flow tables for detector tests
// and benchmarks: records in, a store.Querier over DuckDB out. It is the only
// detect package that links DuckDB, so the detectors stay pure Go.
package detecttest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/store"
)

// DB is an in-memory vpc_flow_logs table.
type DB struct {
	db       *sql.DB
	internal []netip.Prefix
}

// New creates an empty table with store.FlowColumns(). internal decides the
// direction column; nil means RFC 1918.
func New(internal []netip.Prefix) (*DB, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("cannot open duckdb: %w", err)
	}
	db.SetMaxOpenConns(1) // one in-memory database, one connection
	var cols []string
	for _, c := range store.FlowColumns() {
		cols = append(cols, fmt.Sprintf("%q %s", c.Name, c.Type))
	}
	if _, err := db.Exec("CREATE TABLE vpc_flow_logs (" + strings.Join(cols, ", ") + ")"); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot create vpc_flow_logs: %w", err)
	}
	if internal == nil {
		internal = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16")}
	}
	return &DB{db: db, internal: internal}, nil
}

// Close releases the database.
func (d *DB) Close() error { return d.db.Close() }

// Query implements store.Querier.
func (d *DB) Query(ctx context.Context, q string, args ...any) (store.Rows, error) {
	return d.db.QueryContext(ctx, q, args...)
}

// Exec runs a statement (tests use it to add side tables).
func (d *DB) Exec(ctx context.Context, q string, args ...any) error {
	_, err := d.db.ExecContext(ctx, q, args...)
	return err
}

// Add appends records, computing the derived columns as the store does.
func (d *DB) Add(ctx context.Context, recs []flowlog.Record) error {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "vpc_flow_logs")
		if err != nil {
			return fmt.Errorf("cannot open appender: %w", err)
		}
		cols := store.FlowColumns()
		vals := make([]driver.Value, len(cols))
		for i := range recs {
			d.values(&recs[i], cols, vals)
			if err := app.AppendRow(vals...); err != nil {
				app.Close()
				return fmt.Errorf("cannot append record %d: %w", i, err)
			}
		}
		return app.Close()
	})
}

func (d *DB) values(r *flowlog.Record, cols []store.Column, vals []driver.Value) {
	var src, dst netip.Addr
	for i, c := range cols {
		vals[i] = nil
		if c.AWS {
			if !r.Has(c.Field) {
				continue
			}
			switch c.Type {
			case "INTEGER":
				v, _ := r.Int(c.Field)
				vals[i] = int32(v)
			case "BIGINT":
				v, _ := r.Int(c.Field)
				vals[i] = v
			default:
				v, _ := r.Str(c.Field)
				vals[i] = v
			}
			continue
		}
		if src == (netip.Addr{}) {
			src, _ = netip.ParseAddr(r.StrOr(flowlog.SrcAddr, ""))
			dst, _ = netip.ParseAddr(r.StrOr(flowlog.DstAddr, ""))
		}
		start, hasStart := r.Int(flowlog.Start)
		end, hasEnd := r.Int(flowlog.End)
		switch c.Name {
		case store.ColDate:
			if hasStart {
				vals[i] = time.Unix(start, 0).UTC().Truncate(24 * time.Hour)
			}
		case store.ColTsStart:
			if hasStart {
				vals[i] = time.Unix(start, 0).UTC()
			}
		case store.ColTsEnd:
			if hasEnd {
				vals[i] = time.Unix(end, 0).UTC()
			}
		case store.ColSrcIP4:
			vals[i] = ip4(src)
		case store.ColDstIP4:
			vals[i] = ip4(dst)
		case store.ColSrcIP6:
			vals[i] = ip6(src)
		case store.ColDstIP6:
			vals[i] = ip6(dst)
		case store.ColDirection:
			if src.IsValid() && dst.IsValid() {
				vals[i] = direction(d.in(src), d.in(dst))
			}
		case store.ColSourceObject:
			vals[i] = "test"
		case store.ColSourceLine:
			vals[i] = int64(0)
		case store.ColIngestBatch:
			vals[i] = "test"
		}
	}
}

func (d *DB) in(a netip.Addr) bool {
	for _, p := range d.internal {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func direction(srcIn, dstIn bool) string {
	switch {
	case srcIn && dstIn:
		return store.DirInternal
	case srcIn:
		return store.DirOutbound
	case dstIn:
		return store.DirInbound
	}
	return store.DirExternal
}

func ip4(a netip.Addr) driver.Value {
	if !a.Is4() {
		return nil
	}
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func ip6(a netip.Addr) driver.Value {
	if !a.IsValid() || a.Is4() {
		return nil
	}
	b := a.As16()
	return b[:]
}

// Flow describes one record compactly for tests. Zero Packets/Bytes get
// small defaults; Flags < 0 means NULL tcp-flags.
type Flow struct {
	ENI              string
	Src, Dst         string
	SrcPort, DstPort int
	Proto            int // default 6
	Packets, Bytes   int64
	Start, End       int64 // End defaults to Start+1
	Action           string
	Status           string
	Flags            int
	Dir              string // flow-direction: ingress | egress (default: egress when Src is internal)
}

// Record converts f to a record with the v5 custom fields the simulator uses.
func (f Flow) Record() flowlog.Record {
	var r flowlog.Record
	r.SetInt(flowlog.Version, 5)
	r.SetStr(flowlog.AccountID, "123456789012")
	if f.ENI == "" {
		f.ENI = "eni-0test"
	}
	r.SetStr(flowlog.InterfaceID, f.ENI)
	if f.Status == "" {
		f.Status = "OK"
	}
	r.SetStr(flowlog.LogStatus, f.Status)
	if f.End == 0 {
		f.End = f.Start + 1
	}
	r.SetInt(flowlog.Start, f.Start)
	r.SetInt(flowlog.End, f.End)
	if f.Status != "OK" {
		return r
	}
	if f.Proto == 0 {
		f.Proto = 6
	}
	if f.Packets == 0 {
		f.Packets = 1
	}
	if f.Bytes == 0 {
		f.Bytes = 40 * f.Packets
	}
	if f.Action == "" {
		f.Action = "ACCEPT"
	}
	r.SetStr(flowlog.SrcAddr, f.Src)
	r.SetStr(flowlog.DstAddr, f.Dst)
	r.SetInt(flowlog.SrcPort, int64(f.SrcPort))
	r.SetInt(flowlog.DstPort, int64(f.DstPort))
	r.SetInt(flowlog.Protocol, int64(f.Proto))
	r.SetInt(flowlog.Packets, f.Packets)
	r.SetInt(flowlog.Bytes, f.Bytes)
	r.SetStr(flowlog.Action, f.Action)
	if f.Flags >= 0 {
		r.SetInt(flowlog.TCPFlags, int64(f.Flags))
	}
	if f.Dir != "" {
		r.SetStr(flowlog.FlowDirection, f.Dir)
	}
	return r
}

// Records converts flows.
func Records(fs ...Flow) []flowlog.Record {
	out := make([]flowlog.Record, len(fs))
	for i, f := range fs {
		out[i] = f.Record()
	}
	return out
}
