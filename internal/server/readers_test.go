package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

// genStore is a Store with a generation the test sets; it counts the
// readers it opened and those still open.
type genStore struct {
	mu             sync.Mutex
	gen            int64
	opened, closed int
	busy           map[*genReader]bool // readers serving a query now
}

type genReader struct {
	s    *genStore
	gen  int64
	from time.Time
}

func (s *genStore) Generation(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen, nil
}

func (s *genStore) Reader(ctx context.Context, from, to time.Time) (Reader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opened++
	return &genReader{s: s, gen: s.gen, from: from}, nil
}

func (s *genStore) commit() {
	s.mu.Lock()
	s.gen++
	s.mu.Unlock()
}

func (s *genStore) open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened - s.closed
}

func (r *genReader) Query(ctx context.Context, q string, args ...any) (store.Rows, error) {
	return nil, errors.New("genReader runs no queries")
}

func (r *genReader) Close() error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.s.closed++
	return nil
}

func underlying(t *testing.T, rd Reader) *genReader {
	t.Helper()
	return rd.(*lease).r.rd.(*genReader)
}

// TestReaderPoolGenerations: a reader is reused while the generation stays,
// never for another range, and is closed once a commit makes it stale.
func TestReaderPoolGenerations(t *testing.T) {
	ctx := context.Background()
	st := &genStore{}
	p := newReaderPool(st, 4)
	get := func(from time.Time) Reader {
		t.Helper()
		rd, err := p.get(ctx, from, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return rd
	}
	a := get(time.Time{})
	ra := underlying(t, a)
	a.Close()
	a.Close() // a second Close of a lease gives nothing back twice
	b := get(time.Time{})
	if underlying(t, b) != ra {
		t.Fatal("a reader of the same generation and range was not reused")
	}
	c := get(time.Time{}) // b is checked out: c is another reader
	if underlying(t, c) == ra {
		t.Fatal("one reader handed to two requests at once")
	}
	a.Close() // stale lease: must not give b's reader back
	if _, idle := p.stats(); idle != 0 {
		t.Fatalf("%d idle readers after closing a lease twice, want 0", idle)
	}
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	d := get(day)
	if underlying(t, d).from != day {
		t.Fatal("a reader of another range was handed out")
	}
	b.Close()
	c.Close()
	d.Close()
	if open, idle := p.stats(); open != 3 || idle != 3 || st.open() != 3 {
		t.Fatalf("open %d idle %d (store: %d open), want 3 3 3", open, idle, st.open())
	}

	st.commit()
	e := get(time.Time{})
	if underlying(t, e).gen != 1 {
		t.Fatal("a reader of the old generation was handed out after a commit")
	}
	// The idle readers of generation 0 were closed by the request that saw
	// generation 1.
	if open, idle := p.stats(); open != 1 || idle != 0 || st.open() != 1 {
		t.Fatalf("after a commit: open %d idle %d (store: %d open), want 1 0 1", open, idle, st.open())
	}
	// A reader checked out before a commit is closed when given back.
	st.commit()
	f := get(time.Time{})
	e.Close()
	f.Close()
	if open, idle := p.stats(); open != 1 || idle != 1 || st.open() != 1 {
		t.Fatalf("after giving back a stale reader: open %d idle %d (store: %d open), want 1 1 1", open, idle, st.open())
	}
	p.close()
	if st.open() != 0 {
		t.Fatalf("%d readers open after the pool closed", st.open())
	}
	if _, err := p.get(ctx, time.Time{}, time.Time{}); err == nil {
		t.Fatal("a closed pool handed out a reader")
	}
}

// TestReaderPoolBound: past max readers a request waits for one to be
// given back (or for its deadline), and idle readers of other ranges make
// room.
func TestReaderPoolBound(t *testing.T) {
	ctx := context.Background()
	st := &genStore{}
	p := newReaderPool(st, 2)
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	a, _ := p.get(ctx, time.Time{}, time.Time{})
	b, _ := p.get(ctx, day, time.Time{})
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	if _, err := p.get(short, time.Time{}, time.Time{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third reader of two: %v, want a deadline error", err)
	}
	got := make(chan Reader)
	go func() {
		rd, err := p.get(ctx, time.Time{}, time.Time{})
		if err != nil {
			t.Error(err)
		}
		got <- rd
	}()
	a.Close()
	c := <-got
	if underlying(t, c) != underlying(t, a) {
		t.Fatal("the waiting request did not get the reader given back")
	}
	// b goes idle; a request for a third range evicts it.
	b.Close()
	d, err := p.get(ctx, day.Add(time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if open, _ := p.stats(); open != 2 || st.open() != 2 {
		t.Fatalf("open %d (store: %d), want 2", open, st.open())
	}
	c.Close()
	d.Close()
}

// TestReaderPoolConcurrent: many requests across commits never share a
// reader, never exceed the bound and leave only current readers open.
func TestReaderPoolConcurrent(t *testing.T) {
	ctx := context.Background()
	st := &genStore{busy: map[*genReader]bool{}}
	const max = 3
	p := newReaderPool(st, max)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				want, _ := st.Generation(ctx)
				rd, err := p.get(ctx, time.Time{}, time.Time{})
				if err != nil {
					t.Error(err)
					return
				}
				r := underlying(t, rd)
				st.mu.Lock()
				if st.busy[r] {
					t.Error("reader shared by two requests")
				}
				st.busy[r] = true
				if r.gen < want {
					t.Errorf("request started at generation %d got a reader of %d", want, r.gen)
				}
				if n := st.opened - st.closed; n > max {
					t.Errorf("%d readers open, bound %d", n, max)
				}
				st.mu.Unlock()
				if i%10 == 0 {
					st.commit()
				}
				st.mu.Lock()
				delete(st.busy, r)
				st.mu.Unlock()
				rd.Close()
			}
		}()
	}
	wg.Wait()
	if open, idle := p.stats(); open != idle || open > max || st.open() != open {
		t.Fatalf("after the run: open %d idle %d (store: %d open), want all idle, at most %d", open, idle, st.open(), max)
	}
	st.commit()
	rd, _ := p.get(ctx, time.Time{}, time.Time{})
	rd.Close()
	if open, idle := p.stats(); open != 1 || idle != 1 || st.open() != 1 {
		t.Fatalf("after a commit and one query: open %d idle %d (store: %d open), want 1 1 1", open, idle, st.open())
	}
	t.Logf("%d readers opened for 1600 requests over %d generations", st.opened, st.gen)
}
