package store

import (
	"context"
	"errors"
	"sync"
)

// Fan feeds jobs to n workers and waits for them. newWorker(k) returns the
// loop of worker k, which reads jobs from ch until it is closed. The first
// worker error cancels the others; Fan returns every worker's error, or the
// context's error when it ended first.
func Fan[J any](ctx context.Context, n int, jobs []J, newWorker func(k int) func(ctx context.Context, ch <-chan J) error) error {
	ch := make(chan J)
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
	for _, j := range jobs {
		select {
		case ch <- j:
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
