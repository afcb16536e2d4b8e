package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memSource serves objects from memory, each Open after a delay, and can
// cut a body short the first times it is read.
type memSource struct {
	objs    map[string][]byte
	delay   time.Duration
	breaks  map[string]int // body cut short this many more times
	mu      sync.Mutex
	open    atomic.Int32 // downloads in progress
	maxOpen atomic.Int32
	opens   atomic.Int32
	// together, when set, holds each download until this many are in
	// progress at once (or a second passes), so a test sees the
	// parallelism whatever the machine's load.
	together int32
	reached  chan struct{}
	once     sync.Once
}

func newMemSource(n, size int, delay time.Duration) (*memSource, []Object) {
	s := &memSource{objs: map[string][]byte{}, delay: delay, breaks: map[string]int{}}
	var objs []Object
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("mem://b/%03d", i)
		s.objs[key] = bytes.Repeat([]byte{byte('a' + i%26)}, size+i)
		objs = append(objs, Object{Key: key, Size: int64(size + i)})
	}
	return s, objs
}

func (s *memSource) List(context.Context) ([]Object, error) { return nil, nil }
func (s *memSource) String() string                         { return "mem" }

func (s *memSource) Open(ctx context.Context, o Object) (io.ReadCloser, error) {
	s.opens.Add(1)
	n := s.open.Add(1)
	defer s.open.Add(-1)
	for {
		m := s.maxOpen.Load()
		if n <= m || s.maxOpen.CompareAndSwap(m, n) {
			break
		}
	}
	if s.together > 0 {
		if n >= s.together {
			s.once.Do(func() { close(s.reached) })
		}
		select {
		case <-s.reached:
		case <-time.After(time.Second):
		}
	}
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	cut := s.breaks[o.Key] > 0
	if cut {
		s.breaks[o.Key]--
	}
	s.mu.Unlock()
	data := s.objs[o.Key]
	if cut {
		return io.NopCloser(io.MultiReader(bytes.NewReader(data[:len(data)/2]), errReader{errors.New("connection reset by peer")})), nil
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func readAll(t *testing.T, p *Fetch) []byte {
	t.Helper()
	rc, err := p.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFetcherAhead(t *testing.T) {
	src, objs := newMemSource(40, 1000, 20*time.Millisecond)
	src.together, src.reached = 4, make(chan struct{})
	src.breaks[objs[3].Key] = 2 // two broken transfers, then a good one
	f := NewFetcher(8, 12_000)  // room for eleven of these objects at once
	var fetches []*Fetch
	for _, o := range objs[:10] {
		fetches = append(fetches, f.Start(context.Background(), src, o))
	}
	for i, o := range objs {
		got := readAll(t, fetches[i])
		if !bytes.Equal(got, src.objs[o.Key]) {
			t.Fatalf("%s: %d bytes, want %d", o.Key, len(got), len(src.objs[o.Key]))
		}
		if i+10 < len(objs) {
			fetches = append(fetches, f.Start(context.Background(), src, objs[i+10]))
		}
	}
	if m := src.maxOpen.Load(); m < 4 || m > 8 {
		t.Errorf("%d downloads at once, want between 4 and 8", m)
	}
	// Every byte is back: the whole budget can be taken again.
	if !f.budget.TryAcquire(12_000) {
		t.Fatal("the budget was not given back")
	}
	f.budget.Release(12_000)
	// A second Open downloads again (a worker redoing an object).
	before := src.opens.Load()
	if got := readAll(t, fetches[0]); !bytes.Equal(got, src.objs[objs[0].Key]) || src.opens.Load() != before+1 {
		t.Fatalf("second open: %d bytes after %d downloads", len(got), src.opens.Load()-before)
	}
}

func TestFetcherGivesUp(t *testing.T) {
	src, objs := newMemSource(2, 500, 0)
	src.breaks[objs[0].Key] = 10
	f := NewFetcher(2, 4000)
	f.retries = 2
	p := f.Start(context.Background(), src, objs[0])
	if _, err := p.Open(context.Background()); err == nil || !bytes.Contains([]byte(err.Error()), []byte("connection reset by peer")) {
		t.Fatalf("err = %v, want the broken transfer named", err)
	}
	// Dropped and failed fetches give their bytes back too.
	f.Start(context.Background(), src, objs[1]).Drop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.budget.Acquire(ctx, 4000); err != nil {
		t.Fatal("the budget was not given back:", err)
	}
}

func TestFetcherLargeObjectsOnDemand(t *testing.T) {
	src, objs := newMemSource(1, 5000, 0)
	f := NewFetcher(2, 8000) // objects above a quarter of the budget stream
	p := f.Start(context.Background(), src, objs[0])
	if src.opens.Load() != 0 {
		t.Fatal("a large object was fetched ahead")
	}
	if got := readAll(t, p); len(got) != 5000 {
		t.Fatalf("%d bytes", len(got))
	}
	var none *Fetcher
	if none.Ahead() != 0 || NewFetcher(0, 0) != nil {
		t.Fatal("a Fetcher of no downloads fetches")
	}
}

// BenchmarkFetchAhead reads 64 objects of 200 kB from a source answering
// each request after 30 ms (an S3 GET from afar), two at a time as two
// decoders would on demand, then with 16 downloads ahead: compare the two
// ns/op.
func BenchmarkFetchAhead(b *testing.B) {
	src, objs := newMemSource(64, 200_000, 30*time.Millisecond)
	run := func(b *testing.B, f *Fetcher) {
		for b.Loop() {
			ch := make(chan *Fetch, f.Ahead())
			go func() {
				for _, o := range objs {
					ch <- f.Start(context.Background(), src, o)
				}
				close(ch)
			}()
			var wg sync.WaitGroup
			for w := 0; w < 2; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for p := range ch {
						rc, err := p.Open(context.Background())
						if err != nil {
							b.Error(err)
							continue
						}
						io.Copy(io.Discard, rc)
						rc.Close()
					}
				}()
			}
			wg.Wait()
		}
	}
	b.Run("on-demand", func(b *testing.B) { run(b, nil) })
	b.Run("ahead-16", func(b *testing.B) { run(b, NewFetcher(16, DefaultFetchBudget)) })
}
