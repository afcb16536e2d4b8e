package store

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestFanRunsEveryJobOnce(t *testing.T) {
	jobs := make([]int, 1000)
	for i := range jobs {
		jobs[i] = i + 1
	}
	var sum atomic.Int64
	err := Fan(context.Background(), 3, jobs, func(k int) func(context.Context, <-chan int) error {
		return func(ctx context.Context, ch <-chan int) error {
			for j := range ch {
				sum.Add(int64(j))
			}
			return nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sum.Load(), int64(1000*1001/2); got != want {
		t.Fatalf("sum of jobs = %d, want %d", got, want)
	}
}

func TestFanFirstErrorStopsTheOthers(t *testing.T) {
	boom := errors.New("boom")
	jobs := make([]int, 10000)
	for i := range jobs {
		jobs[i] = i
	}
	var done atomic.Int64
	err := Fan(context.Background(), 2, jobs, func(k int) func(context.Context, <-chan int) error {
		return func(ctx context.Context, ch <-chan int) error {
			for j := range ch {
				if j == 100 {
					return boom
				}
				done.Add(1)
			}
			return nil
		}
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if n := done.Load(); n >= int64(len(jobs)-1) {
		t.Fatalf("%d jobs ran after the failure: the feed did not stop", n)
	}
}

func TestFanReturnsContextError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Fan(ctx, 2, []int{1, 2, 3}, func(k int) func(context.Context, <-chan int) error {
		return func(ctx context.Context, ch <-chan int) error {
			for range ch {
			}
			return nil
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
