package store

import (
	"context"
	"errors"
	"sync"

	"github.com/flowhunt/flowhunt/internal/source"
)

// Fan feeds jobs to n workers and waits for them. newWorker(k) returns the
// loop of worker k, which reads jobs from ch until it is closed. The first
// worker error cancels the others; Fan returns every worker's error, or the
// context's error when it ended first.
func Fan[J any](ctx context.Context, n int, jobs []J, newWorker func(k int) func(ctx context.Context, ch <-chan J) error) error {
	return FanAhead(ctx, n, 0, jobs, nil, newWorker)
}

// FanAhead is Fan with a look-ahead: start(ctx, &jobs[i]) is called in job
// order, up to ahead jobs before a worker takes them (to begin downloading
// objects while earlier ones are decoded). start may block; it must return
// when ctx ends.
func FanAhead[J any](ctx context.Context, n, ahead int, jobs []J, start func(context.Context, *J), newWorker func(k int) func(ctx context.Context, ch <-chan J) error) error {
	ch := make(chan J, max(ahead, 0))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for k := 0; k < n; k++ {
		loop := newWorker(k)
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			if errs[k] = loop(ctx, ch); errs[k] != nil {
				cancel()
			}
		}(k)
	}
feed:
	for i := range jobs {
		if start != nil {
			start(ctx, &jobs[i])
		}
		select {
		case ch <- jobs[i]:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// FetchersFor is the number of objects to download ahead for srcs: n when
// set (none when negative), else source.DefaultFetchers when one of them
// is remote.
func FetchersFor(n int, srcs []source.Source) int {
	if n != 0 {
		return max(n, 0)
	}
	for _, s := range srcs {
		if source.Remote(s) {
			return source.DefaultFetchers
		}
	}
	return 0
}
