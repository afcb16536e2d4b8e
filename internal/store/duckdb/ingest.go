package duckdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store"
	"github.com/flowhunt/flowhunt/internal/store/pqwrite"
)

// IngestOptions tune one ingest run.
type IngestOptions struct {
	Format flowlog.Format // FormatAuto sniffs each object
	Layout flowlog.Layout // for objects without a header line; zero: DefaultLayout
	// Workers decode objects in parallel; default GOMAXPROCS.
	Workers int
	// Fetchers download objects ahead of the workers, whole, within
	// source.DefaultFetchBudget bytes; default source.DefaultFetchers when
	// a source is remote (S3), none for files; negative: none.
	Fetchers int
	// CommitRows: a worker commits its segments at the first object
	// boundary after this many rows; default 4 Mi rows.
	CommitRows int64
	// Retention drops day partitions older than now-Retention; 0 keeps all.
	Retention time.Duration
	// Progress, when set, is called after each object (serialised).
	Progress func(Progress)
	// Batch names the run in the ingest_batch column; default a timestamp.
	Batch string
	// Enrich, when set, fills the geo, ASN and threat-intel columns
	// (store.EnrichColumns); without it they are NULL.
	Enrich *enrich.Enricher
	// NoCompact skips merging small segments after the run: streaming
	// writers (the Firehose endpoint) commit often and call Compact on their
	// own schedule instead.
	NoCompact bool
}

// Progress is the state of a running ingest.
type Progress struct {
	Objects, ObjectsTotal int
	Records, Rejects      int64
	Bytes, BytesTotal     int64 // compressed bytes read / to read
	Elapsed               time.Duration
}

// IngestSummary reports what an ingest did.
type IngestSummary struct {
	Batch     string        `json:"batch"`
	Listed    int           `json:"listed"`    // objects listed in the time range
	Ingested  int           `json:"ingested"`  // objects stored by this run
	Unchanged int           `json:"unchanged"` // already ingested, skipped
	Replaced  int           `json:"replaced"`  // changed since their last ingest, stored again
	Records   int64         `json:"records"`
	Rejects   int64         `json:"rejects"`
	Bytes     int64         `json:"bytes"`               // compressed bytes read
	Damaged   []ObjectError `json:"damaged,omitempty"`   // read partly: the records before the damage are stored
	Failed    []ObjectError `json:"failed,omitempty"`    // not stored; a re-run retries them
	Expired   []string      `json:"expired,omitempty"`   // day partitions dropped by retention
	Compacted int           `json:"compacted,omitempty"` // small segments merged into bigger ones
	Seconds   float64       `json:"seconds"`
}

// ObjectError names an object and what went wrong with it.
type ObjectError struct {
	Object string `json:"object"`
	Error  string `json:"error"`
}

// ErrObjectsFailed is returned (wrapped) when some objects could not be
// stored; the others are committed.
var ErrObjectsFailed = errors.New("some objects could not be ingested")

type job struct {
	src   source.Source
	obj   source.Object
	old   *ObjectInfo   // previous ingest of a changed object
	fetch *source.Fetch // the download started ahead, if any
}

// open returns the object's bytes, downloaded ahead when they were.
func (j *job) open(ctx context.Context) (io.ReadCloser, error) {
	if j.fetch != nil {
		return j.fetch.Open(ctx)
	}
	return j.src.Open(ctx, j.obj)
}

// Ingest stores every object of srcs not yet ingested, exactly once. Objects
// are decoded in parallel; each worker writes its own segment files and
// commits them, with the objects they hold, in one manifest rename.
func (s *Store) Ingest(ctx context.Context, srcs []source.Source, opts IngestOptions) (IngestSummary, error) {
	t0 := time.Now()
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.CommitRows <= 0 {
		opts.CommitRows = 4 << 20
	}
	if len(opts.Layout.Fields) == 0 {
		opts.Layout = flowlog.DefaultLayout
	}
	if opts.Batch == "" {
		opts.Batch = s.cfg.Now().UTC().Format("20060102T150405.000000Z")
	}
	sum := IngestSummary{Batch: opts.Batch}
	w, err := s.lockWriter(ctx)
	if err != nil {
		return sum, err
	}
	defer w.unlock()

	var jobs []job
	for _, src := range srcs {
		objs, err := src.List(ctx)
		if err != nil {
			return sum, err
		}
		sum.Listed += len(objs)
		for _, o := range objs {
			old := w.m.Objects[o.Key]
			if old != nil && old.Version == o.Version() {
				sum.Unchanged++
				continue
			}
			jobs = append(jobs, job{src: src, obj: o, old: old})
		}
	}
	// Objects that changed lose their old rows first, in a commit of their
	// own: a crash after it leaves them simply not ingested.
	var changed []string
	for _, j := range jobs {
		if j.old != nil {
			changed = append(changed, j.obj.Key)
		}
	}
	if len(changed) > 0 {
		if err := w.removeObjects(ctx, changed); err != nil {
			return sum, err
		}
		sum.Replaced = len(changed)
	}

	run := &ingestRun{w: w, opts: opts, t0: t0, sum: &sum}
	for _, j := range jobs {
		run.bytesTotal += j.obj.Size
	}
	run.total = len(jobs)
	fetcher := source.NewFetcher(store.FetchersFor(opts.Fetchers, srcs), source.DefaultFetchBudget)
	err = store.FanAhead(ctx, opts.Workers, fetcher.Ahead(), jobs, func(ctx context.Context, j *job) {
		j.fetch = fetcher.Start(ctx, j.src, j.obj)
	}, func(k int) func(context.Context, <-chan job) error {
		wk := &worker{run: run, id: k}
		return wk.loop
	})
	if err != nil {
		return sum, err
	}
	if !opts.NoCompact {
		merged, err := w.compact(ctx, opts.Batch)
		if err != nil {
			return sum, err
		}
		sum.Compacted = merged
	}
	if opts.Retention > 0 {
		expired, err := w.expire(s.cfg.Now().Add(-opts.Retention))
		if err != nil {
			return sum, err
		}
		sum.Expired = expired
	}
	sort.Slice(sum.Damaged, func(i, j int) bool { return sum.Damaged[i].Object < sum.Damaged[j].Object })
	sort.Slice(sum.Failed, func(i, j int) bool { return sum.Failed[i].Object < sum.Failed[j].Object })
	sum.Seconds = time.Since(t0).Seconds()
	if len(sum.Failed) > 0 {
		return sum, fmt.Errorf("cannot ingest %d of %d objects (first: %s: %s): %w", len(sum.Failed), len(jobs), sum.Failed[0].Object, sum.Failed[0].Error, ErrObjectsFailed)
	}
	return sum, nil
}

// ingestRun is the state the workers of one Ingest share.
type ingestRun struct {
	w          *writer
	opts       IngestOptions
	t0         time.Time
	total      int
	bytesTotal int64

	mu   sync.Mutex // guards sum, done, and commits
	sum  *IngestSummary
	done int
	seq  atomic.Int64 // segment file sequence
}

// objectResult is what a worker learnt about one object.
type objectResult struct {
	job     job
	stats   flowlog.Stats
	damaged string
}

// worker decodes objects and writes them to its own open segments.
type worker struct {
	run     *ingestRun
	id      int
	flows   map[flowKey]*flowSegment
	rejects *rejectSegment
	pending []objectResult
	rows    int64
	batch   flowlog.Batch
	der     derived
	enr     enrichment
	cache   *addrCache
	idx     map[int32][]int32
}

type flowKey struct {
	day  int32
	mask uint64
}

func (wk *worker) loop(ctx context.Context, ch <-chan job) error {
	wk.flows = map[flowKey]*flowSegment{}
	wk.idx = map[int32][]int32{}
	defer wk.abort()
	for j := range ch {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := wk.object(ctx, j); err != nil {
			return err
		}
		if wk.rows >= wk.run.opts.CommitRows || len(wk.flows) > 16 {
			if err := wk.commit(); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return wk.commit()
}

// object ingests one object into the worker's open segments. An object
// that fails (other than by truncation) is reported and leaves nothing
// behind: the worker drops its open segments and redoes its pending objects.
func (wk *worker) object(ctx context.Context, j job) error {
	res, err := wk.decode(ctx, j)
	if err == nil {
		wk.pending = append(wk.pending, res)
		wk.rows += res.stats.Records
		wk.progress(res)
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if isFatal(err) {
		return err
	}
	wk.run.mu.Lock()
	wk.run.sum.Failed = append(wk.run.sum.Failed, ObjectError{Object: j.obj.Key, Error: err.Error()})
	wk.run.mu.Unlock()
	wk.progress(objectResult{job: j})
	// Redo the objects whose rows shared the dropped segments.
	redo := wk.pending
	wk.abort()
	wk.pending, wk.rows = nil, 0
	for _, r := range redo {
		res, err := wk.decode(ctx, r.job)
		if err != nil {
			return fmt.Errorf("cannot ingest object %q again: %w", r.job.obj.Key, err)
		}
		wk.pending = append(wk.pending, res)
		wk.rows += res.stats.Records
	}
	return nil
}

// fatalError marks errors of the store itself (not of an object).
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func isFatal(err error) bool {
	var f *fatalError
	return errors.As(err, &f)
}

func (wk *worker) decode(ctx context.Context, j job) (objectResult, error) {
	res := objectResult{job: j}
	rc, err := j.open(ctx)
	if err != nil {
		return res, err
	}
	defer rc.Close()
	fallback := store.ObjectDay(j.obj.Key)
	emit := func(b *flowlog.Batch) error {
		if err := wk.write(b, j.obj.Key, fallback); err != nil {
			return &fatalError{err}
		}
		return nil
	}
	reject := func(r flowlog.Reject) error {
		if err := wk.reject(r); err != nil {
			return &fatalError{err}
		}
		return nil
	}
	cr := &countReader{r: rc}
	st, err := flowlog.Decode(ctx, cr, flowlog.DecodeOptions{Object: j.obj.Key, Layout: wk.run.opts.Layout, Format: wk.run.opts.Format}, emit, reject)
	res.stats = st
	res.stats.Bytes = cr.n
	if errors.Is(err, flowlog.ErrTruncated) {
		res.damaged = err.Error()
		return res, nil
	}
	if err != nil {
		if isFatal(err) {
			return res, err
		}
		return res, fmt.Errorf("cannot ingest object %q: %w", j.obj.Key, err)
	}
	return res, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// write appends a decoded batch, split by day partition.
func (wk *worker) write(b *flowlog.Batch, object string, fallbackDay int32) error {
	if b.Len == 0 {
		return nil
	}
	wk.der.compute(b, wk.run.w.s.internal, fallbackDay)
	if e := wk.run.opts.Enrich; e != nil {
		if wk.cache == nil {
			wk.cache = &addrCache{e: e}
		}
		wk.enr.compute(&wk.der, b.Len, wk.cache)
	}
	days := wk.der.Date
	same := true
	for _, d := range days[1:b.Len] {
		if d != days[0] {
			same = false
			break
		}
	}
	if same {
		seg, err := wk.segment(days[0], b.Fields)
		if err != nil {
			return err
		}
		if err := seg.write(b, &wk.der, &wk.enr, nil, object, wk.run.opts.Batch); err != nil {
			return err
		}
		return wk.bound()
	}
	for k := range wk.idx {
		wk.idx[k] = wk.idx[k][:0]
	}
	for i, d := range days[:b.Len] {
		wk.idx[d] = append(wk.idx[d], int32(i))
	}
	for d, idx := range wk.idx {
		if len(idx) == 0 {
			continue
		}
		seg, err := wk.segment(d, b.Fields)
		if err != nil {
			return err
		}
		if err := seg.write(b, &wk.der, &wk.enr, idx, object, wk.run.opts.Batch); err != nil {
			return err
		}
	}
	return wk.bound()
}

// bound writes out the open row group of the worker's fullest segment when
// its segments hold more than maxBufferedRows rows in memory.
func (wk *worker) bound() error {
	total, fullest := 0, (*flowSegment)(nil)
	for _, s := range wk.flows {
		n := s.w.Buffered()
		total += n
		if fullest == nil || n > fullest.w.Buffered() {
			fullest = s
		}
	}
	if total <= maxBufferedRows {
		return nil
	}
	if err := fullest.w.Flush(); err != nil {
		return fmt.Errorf("cannot write segment %s: %w", fullest.seg.Path, err)
	}
	return nil
}

func (wk *worker) segment(day int32, mask uint64) (*flowSegment, error) {
	k := flowKey{day, mask}
	if s := wk.flows[k]; s != nil {
		return s, nil
	}
	date := time.Unix(int64(day)*86400, 0).UTC().Format("2006-01-02")
	rel := fmt.Sprintf("flows/date=%s/%s-w%d-%06d.parquet", date, wk.run.opts.Batch, wk.id, wk.run.seq.Add(1))
	codec, _ := pqwrite.ParseCodec(wk.run.w.s.cfg.Codec) // checked by Validate
	s, err := newFlowSegment(wk.run.w.s.dir, rel, mask, wk.run.opts.Enrich != nil, codec, date, wk.run.opts.Batch)
	if err != nil {
		return nil, err
	}
	wk.flows[k] = s
	return s, nil
}

func (wk *worker) reject(r flowlog.Reject) error {
	if wk.rejects == nil {
		rel := fmt.Sprintf("rejects/%s-w%d-%06d.parquet", wk.run.opts.Batch, wk.id, wk.run.seq.Add(1))
		s, err := newRejectSegment(wk.run.w.s.dir, rel, wk.run.opts.Batch)
		if err != nil {
			return err
		}
		wk.rejects = s
	}
	return wk.rejects.add(rejectRow{Object: r.Object, Line: r.Line, Reason: r.Reason, Text: r.Text, IngestBatch: wk.run.opts.Batch})
}

func (wk *worker) progress(res objectResult) {
	r := wk.run
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done++
	r.sum.Bytes += res.job.obj.Size
	r.sum.Records += res.stats.Records
	r.sum.Rejects += res.stats.Rejects
	if r.opts.Progress != nil {
		r.opts.Progress(Progress{
			Objects: r.done, ObjectsTotal: r.total,
			Records: r.sum.Records, Rejects: r.sum.Rejects,
			Bytes: r.sum.Bytes, BytesTotal: r.bytesTotal,
			Elapsed: time.Since(r.t0),
		})
	}
}

// commit closes the worker's segments and commits them with the objects
// whose rows they hold, in one manifest rename.
func (wk *worker) commit() error {
	if len(wk.pending) == 0 && len(wk.flows) == 0 && wk.rejects == nil {
		return nil
	}
	var segs []Segment
	for k, s := range wk.flows {
		seg, err := s.close()
		delete(wk.flows, k)
		if err != nil {
			return err
		}
		segs = append(segs, seg)
	}
	if wk.rejects != nil {
		seg, err := wk.rejects.close()
		wk.rejects = nil
		if err != nil {
			return err
		}
		segs = append(segs, seg)
	}
	run := wk.run
	dirs := map[string]bool{}
	for _, seg := range segs {
		dirs[parentDir(run.w.s.dir, seg.Path)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	now := run.w.s.cfg.Now().UTC()
	run.mu.Lock()
	defer run.mu.Unlock()
	m := run.w.m.clone()
	m.Segments = append(m.Segments, segs...)
	for _, res := range wk.pending {
		info := &ObjectInfo{
			Key: res.job.obj.Key, Version: res.job.obj.Version(), Size: res.job.obj.Size, ETag: res.job.obj.ETag,
			ModTime: res.job.obj.ModTime, Records: res.stats.Records, Rejects: res.stats.Rejects,
			Damaged: res.damaged, Batch: run.opts.Batch, Ingested: now,
		}
		for _, seg := range segs {
			for _, o := range seg.Objects {
				if o == info.Key {
					info.Segments = append(info.Segments, seg.Path)
					break
				}
			}
		}
		m.Objects[info.Key] = info
		run.sum.Ingested++
		if res.damaged != "" {
			run.sum.Damaged = append(run.sum.Damaged, ObjectError{Object: info.Key, Error: res.damaged})
		}
	}
	if err := run.w.commit(m); err != nil {
		return &fatalError{err}
	}
	wk.pending, wk.rows = nil, 0
	return nil
}

// abort drops the worker's uncommitted segments.
func (wk *worker) abort() {
	for k, s := range wk.flows {
		s.abort()
		delete(wk.flows, k)
	}
	if wk.rejects != nil {
		wk.rejects.abort()
		wk.rejects = nil
	}
}

func parentDir(dir, rel string) string {
	p := dir + string(os.PathSeparator) + rel
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == os.PathSeparator {
			return p[:i]
		}
	}
	return dir
}
