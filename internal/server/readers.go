package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

// Generations is implemented by a Store whose committed state carries a
// generation number that grows with every commit (the embedded store's
// manifest). Given it, the server keeps readers open between requests and
// hands a request a reader of the newest generation; without it every
// request opens a reader of its own.
type Generations interface {
	// Generation returns the generation committed now. A reader opened
	// after it returned g sees generation g or a later one.
	Generation(ctx context.Context) (int64, error)
}

// readerPool keeps the readers of recent requests for the next ones.
// Opening a reader of the embedded store costs a query engine and views
// over every live segment, milliseconds per request. A reader serves one
// request at a time (checked out, then given back), and is handed out again
// only while the store's generation is the one it was opened at, so a
// request sees everything committed before it started. Readers of an older
// generation are closed as soon as they are idle.
type readerPool struct {
	store Store
	gens  Generations // nil: no reuse, a reader per request
	max   int         // readers open at once (idle and checked out)

	mu     sync.Mutex
	idle   []*pooledReader // least recently used first
	open   int
	latest int64         // newest generation seen
	freed  chan struct{} // closed (and replaced) when a reader is given back
	closed bool

	opened, reused atomic.Int64
}

// readerKey is the time range a reader restricts vpc_flow_logs to.
type readerKey struct{ from, to time.Time }

func (k readerKey) equal(o readerKey) bool { return k.from.Equal(o.from) && k.to.Equal(o.to) }

type pooledReader struct {
	rd  Reader
	key readerKey
	gen int64
}

// lease is one checkout of a pooled reader; closing it gives the reader
// back. A second Close of the same lease does nothing, so a reader handed
// to the next request meanwhile is not given back twice.
type lease struct {
	r      *pooledReader
	pool   *readerPool
	closed atomic.Bool
}

func (l *lease) Query(ctx context.Context, query string, args ...any) (store.Rows, error) {
	return l.r.rd.Query(ctx, query, args...)
}

func newReaderPool(st Store, max int) *readerPool {
	p := &readerPool{store: st, max: max, freed: make(chan struct{})}
	p.gens, _ = st.(Generations)
	return p
}

// get returns a reader over [from, to) that sees every commit made before
// the call; its Close gives it back.
func (p *readerPool) get(ctx context.Context, from, to time.Time) (Reader, error) {
	if p.gens == nil {
		p.opened.Add(1)
		return p.store.Reader(ctx, from, to)
	}
	gen, err := p.gens.Generation(ctx)
	if err != nil {
		return nil, err
	}
	key := readerKey{from, to}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, fmt.Errorf("cannot open reader: server closed")
		}
		var stale []*pooledReader
		if gen > p.latest {
			p.latest = gen
			stale = p.dropIdle(func(r *pooledReader) bool { return r.gen < gen })
		}
		if r := p.takeIdle(key, gen); r != nil {
			p.mu.Unlock()
			p.closeStale(stale)
			p.reused.Add(1)
			return &lease{r: r, pool: p}, nil
		}
		if len(stale) == 0 && p.open >= p.max && len(p.idle) > 0 {
			// Full: the least recently used idle reader (another range)
			// makes room, once it is closed.
			stale = append(stale, p.idle[0])
			p.idle = p.idle[1:]
		}
		if len(stale) > 0 {
			// Readers count as open until they are closed, so the bound
			// holds for what is really open; then look again.
			p.mu.Unlock()
			p.closeStale(stale)
			continue
		}
		if p.open < p.max {
			p.open++
			p.mu.Unlock()
			rd, err := p.store.Reader(ctx, from, to)
			if err != nil {
				p.mu.Lock()
				p.open--
				p.signal()
				p.mu.Unlock()
				return nil, err
			}
			p.opened.Add(1)
			return &lease{r: &pooledReader{rd: rd, key: key, gen: gen}, pool: p}, nil
		}
		freed := p.freed
		p.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, fmt.Errorf("cannot open reader: all %d readers busy: %w", p.max, ctx.Err())
		}
	}
}

// takeIdle removes and returns the most recently used idle reader of key
// at generation gen or later, or nil. p.mu is held.
func (p *readerPool) takeIdle(key readerKey, gen int64) *pooledReader {
	for i := len(p.idle) - 1; i >= 0; i-- {
		r := p.idle[i]
		if r.gen >= gen && r.key.equal(key) {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return r
		}
	}
	return nil
}

// dropIdle removes the idle readers drop selects and returns them for
// closeStale; they still count as open. p.mu is held.
func (p *readerPool) dropIdle(drop func(*pooledReader) bool) []*pooledReader {
	var out []*pooledReader
	kept := p.idle[:0]
	for _, r := range p.idle {
		if drop(r) {
			out = append(out, r)
		} else {
			kept = append(kept, r)
		}
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	return out
}

// closeStale closes readers taken out of the pool, then stops counting
// them as open and wakes the requests waiting for room. p.mu is not held.
func (p *readerPool) closeStale(rs []*pooledReader) {
	if len(rs) == 0 {
		return
	}
	for _, r := range rs {
		r.rd.Close()
	}
	p.mu.Lock()
	p.open -= len(rs)
	p.signal()
	p.mu.Unlock()
}

// signal wakes the requests waiting for a reader. p.mu is held.
func (p *readerPool) signal() {
	close(p.freed)
	p.freed = make(chan struct{})
}

// Close gives the reader back to its pool; one of an older generation, or
// of a closed pool, is closed.
func (l *lease) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	p, r := l.pool, l.r
	p.mu.Lock()
	if p.closed || r.gen < p.latest {
		p.mu.Unlock()
		err := r.rd.Close()
		p.mu.Lock()
		p.open--
		p.signal()
		p.mu.Unlock()
		return err
	}
	p.idle = append(p.idle, r)
	p.signal()
	p.mu.Unlock()
	return nil
}

// stats returns the readers open now and idle among them.
func (p *readerPool) stats() (open, idle int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open, len(p.idle)
}

// close closes the idle readers; those checked out are closed when given
// back.
func (p *readerPool) close() {
	p.mu.Lock()
	p.closed = true
	stale := p.dropIdle(func(*pooledReader) bool { return true })
	p.mu.Unlock()
	p.closeStale(stale)
}
