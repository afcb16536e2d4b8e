package source

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Fetcher downloads objects ahead of the workers that decode them: a
// bounded number of downloads at a time, each object read whole into
// memory, within a budget of bytes held. Against S3 an ingest is bound by
// the latency of each GET, not by bandwidth or CPU, so decoding one object
// per core while fetching many ahead keeps the cores busy. A nil Fetcher
// fetches nothing ahead: Open downloads on demand.
type Fetcher struct {
	n        int
	parallel *semaphore.Weighted
	budget   *semaphore.Weighted
	limit    int64 // bytes held at most; a larger object is opened on demand
	retries  int
}

// Default fetch settings for remote sources.
const (
	DefaultFetchers    = 16
	DefaultFetchBudget = 64 << 20
)

// NewFetcher returns a Fetcher of parallel downloads holding at most
// budget bytes; nil when parallel <= 0.
func NewFetcher(parallel int, budget int64) *Fetcher {
	if parallel <= 0 {
		return nil
	}
	if budget <= 0 {
		budget = DefaultFetchBudget
	}
	return &Fetcher{
		n:        parallel,
		parallel: semaphore.NewWeighted(int64(parallel)),
		budget:   semaphore.NewWeighted(budget),
		limit:    budget / 4,
		retries:  3,
	}
}

// Ahead is how many objects to start before the workers take them: enough
// to keep the downloads busy (the budget bounds the bytes); 0 for nil.
func (f *Fetcher) Ahead() int {
	if f == nil {
		return 0
	}
	return 4 * f.n
}

// Remote reports whether a source is reached over the network, where
// fetching ahead pays.
func Remote(src Source) bool {
	_, ok := src.(*S3)
	return ok
}

// Fetch is one object: downloaded ahead, or opened on demand.
type Fetch struct {
	src  Source
	obj  Object
	f    *Fetcher
	done chan struct{} // closed when data and err are set; nil when not fetched ahead
	data []byte
	err  error
	mu   sync.Mutex
	used bool // the prefetched bytes were handed out
}

// Start begins downloading o unless it is larger than the Fetcher holds;
// it waits while the budget is spent (or until ctx ends). The Fetch must
// be opened (and its reader closed) or Dropped, to give its bytes back.
func (f *Fetcher) Start(ctx context.Context, src Source, o Object) *Fetch {
	p := &Fetch{src: src, obj: o, f: f}
	if f == nil || o.Size > f.limit {
		return p
	}
	size := max(o.Size, 1)
	if err := f.budget.Acquire(ctx, size); err != nil {
		return p // cancelled: Open will fail on ctx too
	}
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		if err := f.parallel.Acquire(ctx, 1); err != nil {
			p.err = err
			return
		}
		defer f.parallel.Release(1)
		p.data, p.err = f.download(ctx, src, o)
		if p.err != nil {
			p.data = nil
		}
	}()
	return p
}

// download reads o whole, trying again when the transfer breaks off
// (the SDK retries requests, not a body cut short).
func (f *Fetcher) download(ctx context.Context, src Source, o Object) ([]byte, error) {
	var err error
	for attempt := 0; attempt <= f.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt*attempt) * 100 * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		var rc io.ReadCloser
		rc, err = src.Open(ctx, o)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			continue
		}
		buf := bytes.NewBuffer(make([]byte, 0, o.Size+bytes.MinRead))
		_, err = buf.ReadFrom(rc)
		rc.Close()
		if err == nil {
			if int64(buf.Len()) != o.Size && o.Size > 0 {
				err = fmt.Errorf("cannot download object %q: got %d bytes, listed with %d (changed since it was listed?)", o.Key, buf.Len(), o.Size)
				return nil, err
			}
			return buf.Bytes(), nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		err = fmt.Errorf("cannot download object %q: %w", o.Key, err)
	}
	return nil, err
}

// Open returns the object's bytes: the prefetched ones the first time
// (waiting for the download), else a new download. Closing the reader gives
// the bytes back to the Fetcher's budget.
func (p *Fetch) Open(ctx context.Context) (io.ReadCloser, error) {
	p.mu.Lock()
	first := p.done != nil && !p.used
	p.used = true
	p.mu.Unlock()
	if !first {
		return p.src.Open(ctx, p.obj)
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		go p.release() // once the download gives up
		return nil, ctx.Err()
	}
	if p.err != nil {
		p.release()
		return nil, p.err
	}
	return &fetched{Reader: bytes.NewReader(p.data), p: p}, nil
}

// Drop gives back the bytes of a Fetch that will not be opened.
func (p *Fetch) Drop() {
	p.mu.Lock()
	first := p.done != nil && !p.used
	p.used = true
	p.mu.Unlock()
	if first {
		go p.release()
	}
}

func (p *Fetch) release() {
	<-p.done
	p.data = nil
	p.f.budget.Release(max(p.obj.Size, 1))
}

// fetched is a prefetched object being read.
type fetched struct {
	*bytes.Reader
	p    *Fetch
	once sync.Once
}

func (r *fetched) Close() error {
	r.once.Do(r.p.release)
	return nil
}
