// Package local wires the server to flowhunt's own parts: the embedded
// DuckDB store, the query engine, the detectors and the AWS context. It is
// what `flowhunt serve` runs and what the end-to-end tests start.
package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/flowhunt/flowhunt/internal/audit"
	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/query"
	"github.com/flowhunt/flowhunt/internal/server"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

// Config says what to wire.
type Config struct {
	Store duckdb.Config
	// Backend, when set, is the store served instead of the embedded one
	// (a ClickHouse cluster: flowhunt serve --store); Store.Dir still
	// holds the findings file.
	Backend    store.Backend
	Layout     flowlog.Layout // of Firehose records (no header); default DefaultLayout
	Hunt       *detect.Config // detector configuration; defaults when nil
	Inventory  *enrich.Inventory
	Watch      []string      // sources polled for new objects (s3://…, directories)
	WatchSince time.Duration // only objects whose keys fall in the last WatchSince; 0: all
	Source     source.Config // how to reach the watched sources
}

// Backend implements the server's dependencies on the local store.
type Backend struct {
	cfg   Config
	store *duckdb.Store // nil when cfg.Backend is served
	be    store.Backend // the store served: store or cfg.Backend

	group    groupIngest
	findings *detect.FindingStore // DIR/findings.json, shared with `flowhunt hunt`
}

// Open opens the store and returns the backend.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	var st *duckdb.Store
	be := cfg.Backend
	if be == nil {
		var err error
		if st, err = duckdb.Open(ctx, cfg.Store); err != nil {
			return nil, err
		}
		be = st
	}
	if len(cfg.Layout.Fields) == 0 {
		cfg.Layout = flowlog.DefaultLayout
	}
	if cfg.Hunt == nil {
		cfg.Hunt = &detect.Config{}
	}
	b := &Backend{cfg: cfg, store: st, be: be, findings: detect.NewFindingStore(cfg.Store.Dir)}
	b.group.b = b
	return b, nil
}

// Close closes the store.
func (b *Backend) Close() error { return b.be.Close() }

// Store returns the underlying store.
func (b *Backend) Store() *duckdb.Store { return b.store }

// Deps returns the server's dependencies; features without their input
// (inventory, watched sources) are left out.
func (b *Backend) Deps() server.Deps {
	d := server.Deps{Store: b, Query: b, Ingester: b, Findings: b, Hunter: b}
	if b.store == nil {
		// A served backend has no manifest generation to key readers by:
		// the server opens a reader per request.
		d.Store = readerOnly{b}
	}
	if b.cfg.Inventory != nil {
		d.Auditor = b
		d.Inventory = b
	}
	if len(b.cfg.Watch) > 0 {
		d.Watcher = b
	}
	return d
}

// Reader opens a sandboxed reader with the query engine's macros.
func (b *Backend) Reader(ctx context.Context, from, to time.Time) (server.Reader, error) {
	if b.store == nil {
		return b.be.OpenReader(ctx, store.ReaderOptions{From: from, To: to, Setup: query.DuckDBSetup()})
	}
	return b.store.Reader(ctx, duckdb.ReaderOptions{From: from, To: to, Setup: query.DuckDBSetup()})
}

// Generation is the embedded store's manifest generation, which every
// commit (this server's or another process's) raises: the server keeps
// readers between requests while it stays the same.
func (b *Backend) Generation(ctx context.Context) (int64, error) {
	return b.store.Generation()
}

// readerOnly hides Generation from the server.
type readerOnly struct{ b *Backend }

func (r readerOnly) Reader(ctx context.Context, from, to time.Time) (server.Reader, error) {
	return r.b.Reader(ctx, from, to)
}

// Run runs a user query through internal/query.
func (b *Backend) Run(ctx context.Context, q store.Querier, text string, insights bool, maxRows int) (*server.Result, error) {
	lim := query.Limits{MaxRows: maxRows}
	if dl, ok := ctx.Deadline(); ok {
		lim.Timeout = time.Until(dl)
	}
	var res *query.Result
	var err error
	if insights {
		res, err = query.RunInsights(ctx, q, text, lim)
	} else {
		res, err = query.Run(ctx, q, text, lim)
	}
	if err != nil {
		return nil, err
	}
	return &server.Result{Columns: res.Columns, Rows: res.Rows, Truncated: res.Truncated, SQL: res.SQL}, nil
}

// Hunt runs the detectors and merges their findings into the findings
// store, which keeps the analyst status of findings seen before.
func (b *Backend) Hunt(ctx context.Context, q store.Querier) ([]server.Finding, error) {
	fs, err := detect.Hunt(ctx, q, *b.cfg.Hunt)
	if err != nil {
		return nil, err
	}
	stored, err := b.findings.Merge(fs)
	if err != nil {
		return nil, err
	}
	out := make([]server.Finding, 0, len(stored))
	for _, f := range stored {
		if f.Suppressed == "" {
			out = append(out, convertFinding(f))
		}
	}
	return out, nil
}

func convertFinding(f detect.Finding) server.Finding {
	st := string(f.Status)
	if st == "" {
		st = "open"
	}
	return server.Finding{
		ID: f.ID, Detector: f.Detector, Title: f.Title, Severity: f.Severity.String(), Score: f.Score,
		MITRE: f.MITRE, Entity: server.Entity{Kind: f.Entity.Kind, Value: f.Entity.Value},
		Counterparts: f.Counterparts, Ports: f.Ports, FirstSeen: f.FirstSeen, LastSeen: f.LastSeen,
		Evidence: f.Evidence, SQL: f.SQL, Links: f.Links, Status: st,
	}
}

// List returns the stored findings (suppressed ones left out), best first.
func (b *Backend) List(ctx context.Context) ([]server.Finding, error) {
	fs, err := b.findings.Load()
	if err != nil {
		return nil, err
	}
	out := make([]server.Finding, 0, len(fs))
	for _, f := range fs {
		if f.Suppressed == "" {
			out = append(out, convertFinding(f))
		}
	}
	return out, nil
}

// SetStatus records an analyst's status; later hunts keep it.
func (b *Backend) SetStatus(ctx context.Context, id, status string) error {
	st, err := detect.ParseStatus(status)
	if err != nil {
		return err
	}
	_, err = b.findings.SetStatus(id, st)
	return err
}

// Audit audits security groups and NACLs against the reader's flows.
func (b *Backend) Audit(ctx context.Context, q store.Querier) (any, error) {
	return audit.Run(ctx, q, b.cfg.Inventory, audit.Config{})
}

// Lookup gives the inventory context of an ENI or an address.
func (b *Backend) Lookup(kind, value string) (any, bool) {
	var c enrich.Context
	var ok bool
	switch kind {
	case "eni":
		c, ok = b.cfg.Inventory.Lookup(value, netip.Addr{})
	case "ip":
		a, err := netip.ParseAddr(value)
		if err != nil {
			return nil, false
		}
		c, ok = b.cfg.Inventory.Lookup("", a)
	case "instance":
		for _, in := range b.cfg.Inventory.Instances {
			if in.ID == value {
				return map[string]any{"instance_id": in.ID, "name": in.Name, "subnet_id": in.SubnetID, "vpc_id": in.VPCID,
					"enis": in.ENIs, "security_groups": in.Groups, "tags": in.Tags}, true
			}
		}
	}
	if !ok {
		return nil, false
	}
	return map[string]any{"eni": c.ENI, "instance_id": c.InstanceID, "name": c.Name, "subnet_id": c.SubnetID,
		"vpc_id": c.VPCID, "role": c.Role, "security_groups": c.Groups}, true
}

// Poll ingests the objects of the watched sources not stored yet.
func (b *Backend) Poll(ctx context.Context) (int, error) {
	cfg := b.cfg.Source
	if b.cfg.WatchSince > 0 {
		cfg.Range.From = time.Now().Add(-b.cfg.WatchSince)
	}
	var srcs []source.Source
	for _, uri := range b.cfg.Watch {
		src, err := source.Open(ctx, uri, cfg)
		if err != nil {
			return 0, err
		}
		srcs = append(srcs, src)
	}
	if b.store == nil {
		sum, err := b.be.IngestSources(ctx, srcs, store.IngestOptions{})
		return sum.Ingested, err
	}
	sum, err := b.store.Ingest(ctx, srcs, duckdb.IngestOptions{})
	return sum.Ingested, err
}

// IngestObject stores one Firehose object. Concurrent requests are
// committed together (group commit): one store ingest, one manifest
// commit, each object still all-or-nothing under its own key.
func (b *Backend) IngestObject(ctx context.Context, obj server.Object) (server.IngestResult, error) {
	if b.store == nil {
		return b.ingestObjectBackend(ctx, obj)
	}
	return b.group.add(ctx, obj)
}

type pendingObject struct {
	taken bool // by a leader's batch; guarded by groupIngest.mu
	obj   server.Object
	res   server.IngestResult
	err   error
	done  chan struct{}
}

type groupIngest struct {
	b       *Backend
	mu      sync.Mutex // guards pending
	pending []*pendingObject
	run     sync.Mutex // one store ingest at a time; guards compacted
	// compacted is when small segments were last merged. Firehose commits
	// skip the merge (it would rewrite the day's small segments every few
	// requests) and merge at most every compactEvery instead.
	compacted time.Time
}

const compactEvery = 30 * time.Second

func (g *groupIngest) add(ctx context.Context, obj server.Object) (server.IngestResult, error) {
	p := &pendingObject{obj: obj, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, p)
	g.mu.Unlock()
	g.run.Lock()
	g.mu.Lock()
	if p.taken { // a previous leader stores it
		g.mu.Unlock()
		g.run.Unlock()
		<-p.done
		return p.res, p.err
	}
	batch := g.pending
	g.pending = nil
	for _, q := range batch {
		q.taken = true
	}
	g.mu.Unlock()
	runID, bad := g.commit(ctx, batch)
	if time.Since(g.compacted) > compactEvery {
		// A failed merge loses nothing (the small segments stay live); the
		// next one retries.
		g.b.store.Compact(ctx)
		g.compacted = time.Now()
	}
	g.run.Unlock()
	// The next group commits while this one's bad lines are looked up.
	g.attribute(ctx, runID, bad)
	for _, q := range batch {
		close(q.done)
	}
	return p.res, p.err
}

// commit stores the new objects of batch in one ingest run and returns the
// run's id and the stored objects that had bad lines.
func (g *groupIngest) commit(ctx context.Context, batch []*pendingObject) (string, []*pendingObject) {
	m, err := g.b.store.Manifest()
	if err != nil {
		for _, p := range batch {
			p.err = err
		}
		return "", nil
	}
	src := &memSource{objs: map[string][]byte{}}
	first := map[string]*pendingObject{}
	var fresh []*pendingObject
	for _, p := range batch {
		if _, ok := m.Objects[p.obj.Key]; ok {
			p.res.Duplicate = true
			continue
		}
		if q := first[p.obj.Key]; q != nil { // a retry racing its first try
			p.res.Duplicate = true
			continue
		}
		first[p.obj.Key] = p
		src.objs[p.obj.Key] = p.obj.Body
		src.keys = append(src.keys, p.obj.Key)
		fresh = append(fresh, p)
	}
	if len(fresh) == 0 {
		return "", nil
	}
	sum, err := g.b.store.Ingest(ctx, []source.Source{src}, duckdb.IngestOptions{Format: flowlog.FormatText, Layout: g.b.cfg.Layout, NoCompact: true})
	failed := map[string]string{}
	for _, f := range sum.Failed {
		failed[f.Object] = f.Error
	}
	for _, f := range sum.Damaged {
		failed[f.Object] = f.Error
	}
	var stored []*pendingObject
	for _, p := range fresh {
		if msg, ok := failed[p.obj.Key]; ok {
			p.err = errors.New(msg)
			continue
		}
		if err != nil && !errors.Is(err, duckdb.ErrObjectsFailed) {
			p.err = err
			continue
		}
		p.res.Records = int64(bytes.Count(p.obj.Body, []byte{'\n'}))
		stored = append(stored, p)
	}
	if sum.Rejects == 0 {
		return sum.Batch, nil
	}
	return sum.Batch, stored
}

// attribute gives each stored object of one ingest run its own bad lines,
// read back from the rejects the run wrote (the store counts them per
// run). Every reject row names its object, so each bad line goes to the
// request that carried it, exactly once, however requests were grouped.
func (g *groupIngest) attribute(ctx context.Context, runID string, stored []*pendingObject) {
	if len(stored) == 0 {
		return
	}
	rd, err := g.b.store.Reader(ctx, duckdb.ReaderOptions{})
	if err == nil {
		err = attributeRejects(ctx, rd, runID, stored)
		rd.Close()
	}
	if err != nil {
		// The objects are stored; only the report of their bad lines is
		// missing. Failing the requests would make Firehose retry them as
		// duplicates, so the error rides on each result instead.
		for _, p := range stored {
			p.res.BadLinesError = err.Error()
		}
	}
}

// attributeRejects reads the rejects of run runID for the objects of
// stored and sets their bad lines, rejects and records.
func attributeRejects(ctx context.Context, q store.Querier, runID string, stored []*pendingObject) error {
	byKey := make(map[string]*pendingObject, len(stored))
	args := []any{runID}
	marks := make([]string, 0, len(stored))
	for _, p := range stored {
		byKey[p.obj.Key] = p
		args = append(args, p.obj.Key)
		marks = append(marks, "?")
	}
	rows, err := q.Query(ctx, `SELECT object, line, reason FROM rejects WHERE ingest_batch = ? AND object IN (`+strings.Join(marks, ",")+`) ORDER BY object, line`, args...)
	if err != nil {
		return fmt.Errorf("cannot read bad lines of ingest %s: %w", runID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var obj, reason string
		var line int64
		if err := rows.Scan(&obj, &line, &reason); err != nil {
			return fmt.Errorf("cannot read bad lines of ingest %s: %w", runID, err)
		}
		if p := byKey[obj]; p != nil {
			p.res.BadLines = append(p.res.BadLines, server.BadLine{Line: line, Reason: reason})
			p.res.Rejects++
			p.res.Records--
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cannot read bad lines of ingest %s: %w", runID, err)
	}
	return nil
}

// memSource is a source of in-memory objects (Firehose requests). Their
// version is their size alone, so a retry of a request is "unchanged".
type memSource struct {
	keys []string
	objs map[string][]byte
}

func (m *memSource) List(ctx context.Context) ([]source.Object, error) {
	out := make([]source.Object, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, source.Object{Key: k, Size: int64(len(m.objs[k])), ModTime: time.Unix(0, 0)})
	}
	return out, nil
}

func (m *memSource) Open(ctx context.Context, o source.Object) (io.ReadCloser, error) {
	b, ok := m.objs[o.Key]
	if !ok {
		return nil, fmt.Errorf("cannot open object %s: not in this request", o.Key)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memSource) String() string { return "firehose" }
