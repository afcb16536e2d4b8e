package clickhouse

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store"
)

// Exactly-once protocol (docs/clickhouse.md): every source object gets a
// ledger row in state "started" before any of its rows is inserted, and a
// row in state "done" after all of them are. An object whose last state is
// not "done" (a crash, a shard down mid-insert) or whose version changed has
// its rows deleted on every shard (ALTER TABLE … DELETE, waited for) at
// the start of the next run, and is ingested again in full.

type ledgerState struct {
	version, state string
}

type job struct {
	src   source.Source
	obj   source.Object
	fetch *source.Fetch // the download started ahead, if any
}

// IngestSources stores every object of srcs not yet ingested, exactly once.
func (s *Store) IngestSources(ctx context.Context, srcs []source.Source, opts store.IngestOptions) (store.IngestSummary, error) {
	t0 := time.Now()
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if len(opts.Layout.Fields) == 0 {
		opts.Layout = flowlog.DefaultLayout
	}
	if opts.Batch == "" {
		opts.Batch = s.cfg.Now().UTC().Format("20060102T150405.000000Z")
	}
	sum := store.IngestSummary{Batch: opts.Batch}
	ledger, err := s.ledger(ctx)
	if err != nil {
		return sum, err
	}
	var jobs []job
	var clean []string
	for _, src := range srcs {
		objs, err := src.List(ctx)
		if err != nil {
			return sum, err
		}
		sum.Listed += len(objs)
		for _, o := range objs {
			st, seen := ledger[o.Key]
			if seen && st.state == "done" && st.version == o.Version() {
				sum.Unchanged++
				continue
			}
			if seen && st.state != "removed" {
				clean = append(clean, o.Key)
				if st.state == "done" {
					sum.Replaced++
				}
			}
			jobs = append(jobs, job{src: src, obj: o})
		}
	}
	if len(clean) > 0 {
		if err := s.removeObjects(ctx, clean); err != nil {
			return sum, err
		}
	}
	run := &ingestRun{s: s, opts: opts, sum: &sum, t0: t0, total: len(jobs)}
	for _, j := range jobs {
		run.bytesTotal += j.obj.Size
	}
	fetcher := source.NewFetcher(store.FetchersFor(opts.Fetchers, srcs), source.DefaultFetchBudget)
	err = store.FanAhead(ctx, opts.Workers, fetcher.Ahead(), jobs, func(ctx context.Context, j *job) {
		j.fetch = fetcher.Start(ctx, j.src, j.obj)
	}, func(k int) func(context.Context, <-chan job) error {
		w := &worker{run: run}
		return w.loop
	})
	if err != nil {
		return sum, err
	}
	if opts.Retention > 0 {
		exp, err := s.Expire(ctx, s.cfg.Now().Add(-opts.Retention))
		if err != nil {
			return sum, err
		}
		sum.Expired = exp
	}
	sort.Slice(sum.Damaged, func(i, j int) bool { return sum.Damaged[i].Object < sum.Damaged[j].Object })
	sort.Slice(sum.Failed, func(i, j int) bool { return sum.Failed[i].Object < sum.Failed[j].Object })
	sum.Seconds = time.Since(t0).Seconds()
	if len(sum.Failed) > 0 {
		return sum, fmt.Errorf("cannot ingest %d of %d objects (first: %s: %s): %w", len(sum.Failed), len(jobs), sum.Failed[0].Object, sum.Failed[0].Error, store.ErrObjectsFailed)
	}
	return sum, nil
}

// ledger returns the last state of every object.
func (s *Store) ledger(ctx context.Context) (map[string]ledgerState, error) {
	rows, err := s.entry.query(ctx, "SELECT key, argMax(version, seq), argMax(state, seq) FROM "+s.table(ledgerTable)+" GROUP BY key", nil)
	if err != nil {
		return nil, fmt.Errorf("cannot read ingest ledger: %w", err)
	}
	defer rows.Close()
	out := map[string]ledgerState{}
	for rows.Next() {
		var k, v, st string
		if err := rows.Scan(&k, &v, &st); err != nil {
			return nil, err
		}
		out[k] = ledgerState{v, st}
	}
	return out, rows.Err()
}

// removeObjects deletes the rows of keys on every shard and waits until
// the deletions are applied, then records them as removed.
func (s *Store) removeObjects(ctx context.Context, keys []string) error {
	const chunk = 500
	for i := 0; i < len(keys); i += chunk {
		part := keys[i:min(i+chunk, len(keys))]
		var in []string
		for _, k := range part {
			in = append(in, quoteString(k))
		}
		list := strings.Join(in, ",")
		for _, n := range s.shards {
			if err := s.deleteWhere(ctx, n, s.flowsLocalName(), quoteIdent(store.ColSourceObject)+" IN ("+list+")"); err != nil {
				return err
			}
		}
		if err := s.deleteWhere(ctx, s.entry, "rejects", "object IN ("+list+")"); err != nil {
			return err
		}
		var b []byte
		now := s.cfg.Now()
		for _, k := range part {
			b = s.appendLedger(b, k, source.Object{}, flowlog.Stats{}, "", "", "removed", now)
		}
		if err := s.entry.insert(ctx, s.table(ledgerTable), b, false, nil); err != nil {
			return err
		}
	}
	return nil
}

// deleteWhere runs an ALTER TABLE … DELETE (a mutation, asynchronous on
// every release) and polls system.mutations until it is done.
func (s *Store) deleteWhere(ctx context.Context, n *node, table, cond string) error {
	q := "ALTER TABLE " + s.table(table) + " DELETE WHERE " + cond
	if err := n.exec(ctx, q, nil); err != nil {
		return fmt.Errorf("cannot delete partial rows on %s: %w", n, err)
	}
	wait := 20 * time.Millisecond
	for {
		rows, err := n.query(ctx, "SELECT count() FROM system.mutations WHERE database = "+quoteString(s.db)+" AND table = "+quoteString(table)+" AND is_done = 0", nil)
		if err != nil {
			return fmt.Errorf("cannot wait for deletion on %s: %w", n, err)
		}
		var pending int64
		for rows.Next() {
			rows.Scan(&pending)
		}
		rows.Close()
		if pending == 0 {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("cannot wait for deletion on %s: %w", n, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, time.Second)
	}
}

var seqClock struct {
	sync.Mutex
	last uint64
}

// nextSeq orders ledger rows: wall-clock nanoseconds, strictly increasing
// within the process.
func nextSeq(now time.Time) uint64 {
	seqClock.Lock()
	defer seqClock.Unlock()
	v := uint64(now.UnixNano())
	if v <= seqClock.last {
		v = seqClock.last + 1
	}
	seqClock.last = v
	return v
}

func (s *Store) appendLedger(b []byte, key string, o source.Object, st flowlog.Stats, damaged, batch, state string, now time.Time) []byte {
	b = appendTSV(b, []byte(key))
	b = append(b, '\t')
	if state != "removed" {
		b = appendTSV(b, []byte(o.Version()))
	}
	b = append(b, '\t')
	b = strconv.AppendInt(b, o.Size, 10)
	b = append(b, '\t')
	b = appendTSV(b, []byte(o.ETag))
	b = append(b, '\t')
	b = strconv.AppendInt(b, max(o.ModTime.Unix(), 0), 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, st.Records, 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, st.Rejects, 10)
	b = append(b, '\t')
	b = appendTSV(b, []byte(damaged))
	b = append(b, '\t')
	b = appendTSV(b, []byte(batch))
	b = append(b, '\t')
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, '\t')
	b = append(b, state...)
	b = append(b, '\t')
	b = strconv.AppendUint(b, nextSeq(now), 10)
	return append(b, '\n')
}

type ingestRun struct {
	s          *Store
	opts       store.IngestOptions
	t0         time.Time
	total      int
	bytesTotal int64

	mu   sync.Mutex
	sum  *store.IngestSummary
	done int
}

type pendingObject struct {
	job     job
	stats   flowlog.Stats
	damaged string
}

// worker decodes objects into RowBinary buffers and inserts them in large
// batches; the ledger brackets every insert.
type worker struct {
	run     *ingestRun
	bufs    [][]byte // RowBinary rows per shard
	rejects []byte
	rows    int
	pending []pendingObject
	der     store.Derived
	cache   *enrichCache // when the run enriches
}

func (w *worker) loop(ctx context.Context, ch <-chan job) error {
	for j := range ch {
		if err := ctx.Err(); err != nil {
			return err
		}
		if w.bufs == nil {
			w.bufs = make([][]byte, len(w.run.s.shards))
		}
		marks := make([]int, len(w.bufs))
		for k := range w.bufs {
			marks[k] = len(w.bufs[k])
		}
		rmark := len(w.rejects)
		rows := w.rows
		p, err := w.decode(ctx, j)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// The object leaves nothing behind: drop what it added.
			for k := range w.bufs {
				w.bufs[k] = w.bufs[k][:marks[k]]
			}
			w.rejects, w.rows = w.rejects[:rmark], rows
			w.run.fail(j, err)
			continue
		}
		w.pending = append(w.pending, p)
		w.run.progress(p)
		if w.rows >= w.run.s.cfg.InsertRows {
			if err := w.flush(ctx); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return w.flush(ctx)
}

func (w *worker) decode(ctx context.Context, j job) (pendingObject, error) {
	p := pendingObject{job: j}
	rc, err := j.fetch.Open(ctx)
	if err != nil {
		return p, err
	}
	defer rc.Close()
	fallback := store.ObjectDay(j.obj.Key)
	emit := func(b *flowlog.Batch) error {
		w.append(b, j.obj.Key, fallback)
		return nil
	}
	reject := func(r flowlog.Reject) error {
		b := appendTSV(w.rejects, []byte(r.Object))
		b = append(b, '\t')
		b = strconv.AppendInt(b, r.Line, 10)
		b = append(b, '\t')
		b = appendTSV(b, []byte(r.Reason))
		b = append(b, '\t')
		b = appendTSV(b, []byte(r.Text))
		b = append(b, '\t')
		b = appendTSV(b, []byte(w.run.opts.Batch))
		w.rejects = append(b, '\n')
		return nil
	}
	st, err := flowlog.Decode(ctx, rc, flowlog.DecodeOptions{Object: j.obj.Key, Layout: w.run.opts.Layout, Format: w.run.opts.Format}, emit, reject)
	p.stats = st
	if errors.Is(err, flowlog.ErrTruncated) {
		p.damaged = err.Error()
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("cannot ingest object %q: %w", j.obj.Key, err)
	}
	return p, nil
}

var flowColumns = store.FlowColumns()

// flowColumnList is the INSERT's column list, in flowColumns order.
var flowColumnList = func() []string {
	out := make([]string, len(flowColumns))
	for k, c := range flowColumns {
		out[k] = quoteIdent(c.Name)
	}
	return out
}()

// append encodes a batch as RowBinary rows in store.FlowColumns order, each
// in the buffer of its shard.
func (w *worker) append(b *flowlog.Batch, object string, fallback int32) {
	if b.Len == 0 {
		return
	}
	w.der.Compute(b, w.run.s.nets, fallback)
	d := &w.der
	nshards := uint32(len(w.bufs))
	hasENI := b.Has(flowlog.InterfaceID)
	obj, batch := []byte(object), []byte(w.run.opts.Batch)
	if w.run.opts.Enrich != nil && w.cache == nil {
		w.cache = &enrichCache{e: w.run.opts.Enrich}
	}
	for i := 0; i < b.Len; i++ {
		var es, et enrich.Info
		if w.cache != nil {
			es, et = w.cache.lookup(d, i, true), w.cache.lookup(d, i, false)
		}
		sh := uint32(0)
		if nshards > 1 && hasENI && !b.Null[flowlog.InterfaceID][i] {
			sh = shardOf(b.Str[flowlog.InterfaceID].Get(i)) % nshards
		}
		buf := w.bufs[sh]
		for _, c := range flowColumns {
			if c.AWS {
				f := c.Field
				if !b.Has(f) || b.Null[f][i] {
					buf = rbNull(buf)
					continue
				}
				switch f.Kind() {
				case flowlog.KindInt32:
					buf = rbInt32(buf, b.Int[f][i])
				case flowlog.KindInt64:
					buf = rbInt64(buf, b.Int[f][i])
				default:
					buf = rbNullableString(buf, b.Str[f].Get(i))
				}
				continue
			}
			switch c.Name {
			case store.ColDate: // Date: days since the epoch, UInt16
				buf = binary.LittleEndian.AppendUint16(buf, uint16(d.Date[i]))
			case store.ColTsStart: // Nullable(DateTime): seconds, UInt32
				buf = rbOptUInt32(buf, uint32(d.TsStart[i]), d.HasStart[i])
			case store.ColTsEnd:
				buf = rbOptUInt32(buf, uint32(d.TsEnd[i]), d.HasEnd[i])
			case store.ColSrcIP4:
				buf = rbOptUInt32(buf, d.Src4[i], d.Has4s[i])
			case store.ColDstIP4:
				buf = rbOptUInt32(buf, d.Dst4[i], d.Has4d[i])
			case store.ColSrcIP6: // Nullable(FixedString(16))
				buf = rbOptFixed(buf, d.Src6[i][:], d.Has6s[i])
			case store.ColDstIP6:
				buf = rbOptFixed(buf, d.Dst6[i][:], d.Has6d[i])
			case store.ColDirection:
				if d.Dir[i] < 0 {
					buf = rbNull(buf)
				} else {
					buf = rbNullableString(buf, []byte(store.Directions[d.Dir[i]]))
				}
			case store.ColSourceObject:
				buf = rbString(buf, obj)
			case store.ColSourceLine: // Int64, not Nullable
				buf = binary.LittleEndian.AppendUint64(buf, uint64(b.Line[i]))
			case store.ColIngestBatch:
				buf = rbString(buf, batch)
			case store.ColSrcCountry, store.ColDstCountry, store.ColSrcASN, store.ColDstASN, store.ColIntelList:
				buf = appendEnrichment(buf, c.Name, &es, &et)
			default:
				panic("BUG: no ClickHouse encoding for derived column " + c.Name)
			}
		}
		w.bufs[sh] = buf
	}
	w.rows += b.Len
}

func rbOptUInt32(buf []byte, v uint32, ok bool) []byte {
	if !ok {
		return rbNull(buf)
	}
	return rbUInt32(buf, v)
}

func rbOptFixed(buf []byte, v []byte, ok bool) []byte {
	if !ok {
		return rbNull(buf)
	}
	return append(append(buf, 0), v...)
}

// shardOf places an interface's flows on one shard (FNV-1a of its id), so
// per-ENI work stays shard-local. Rows go straight to the shards' local
// tables: each INSERT answers for one shard only, so a shard that is down
// fails the flush before the ledger says "done", on every release, and the
// rows skip the Distributed table's second hop.
func shardOf(eni []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range eni {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// flush inserts the buffered rows of the pending objects, bracketed by
// their ledger rows.
func (w *worker) flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	s := w.run.s
	now := s.cfg.Now()
	var started []byte
	for _, p := range w.pending {
		started = s.appendLedger(started, p.job.obj.Key, p.job.obj, p.stats, p.damaged, w.run.opts.Batch, "started", now)
	}
	if err := s.entry.insert(ctx, s.table(ledgerTable), started, false, nil); err != nil {
		return err
	}
	for k, buf := range w.bufs {
		if len(buf) == 0 {
			continue
		}
		// Compressed for a remote shard only: on loopback gzip costs CPU
		// on both sides and saves nothing.
		data, gz := buf, false
		if !s.shards[k].loopback() {
			var zb bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&zb, gzip.BestSpeed)
			zw.Write(buf)
			zw.Close()
			data, gz = zb.Bytes(), true
		}
		// The INSERT returns once the shard has the rows, so the "done"
		// row below never runs ahead of them.
		if err := s.shards[k].insertRowBinary(ctx, s.table(s.flowsLocalName()), flowColumnList, data, gz); err != nil {
			return err
		}
	}
	if len(w.rejects) > 0 {
		if err := s.entry.insert(ctx, s.table("rejects"), w.rejects, false, nil); err != nil {
			return err
		}
	}
	var done []byte
	now = s.cfg.Now()
	for _, p := range w.pending {
		done = s.appendLedger(done, p.job.obj.Key, p.job.obj, p.stats, p.damaged, w.run.opts.Batch, "done", now)
	}
	if err := s.entry.insert(ctx, s.table(ledgerTable), done, false, nil); err != nil {
		return err
	}
	w.run.mu.Lock()
	for _, p := range w.pending {
		w.run.sum.Ingested++
		if p.damaged != "" {
			w.run.sum.Damaged = append(w.run.sum.Damaged, store.ObjectError{Object: p.job.obj.Key, Error: p.damaged})
		}
	}
	w.run.mu.Unlock()
	for k := range w.bufs {
		w.bufs[k] = w.bufs[k][:0]
	}
	w.pending, w.rejects, w.rows = w.pending[:0], w.rejects[:0], 0
	return nil
}

func (r *ingestRun) fail(j job, err error) {
	r.mu.Lock()
	r.sum.Failed = append(r.sum.Failed, store.ObjectError{Object: j.obj.Key, Error: err.Error()})
	r.mu.Unlock()
	r.progress(pendingObject{job: j})
}

func (r *ingestRun) progress(p pendingObject) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done++
	r.sum.Bytes += p.job.obj.Size
	r.sum.Records += p.stats.Records
	r.sum.Rejects += p.stats.Rejects
	if r.opts.Progress != nil {
		r.opts.Progress(store.Progress{Objects: r.done, ObjectsTotal: r.total, Records: r.sum.Records, Rejects: r.sum.Rejects,
			Bytes: r.sum.Bytes, BytesTotal: r.bytesTotal, Elapsed: time.Since(r.t0)})
	}
}
