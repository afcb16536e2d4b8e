package detect

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

// DetectorRun is what one detector or rule of a hunt cost: its wall time
// (queries included, waiting for a turn excluded), the result rows it read
// from the store into Go, and the findings it returned.
type DetectorRun struct {
	Name     string
	Took     time.Duration
	Rows     int64
	Findings int
	Err      error
}

// countingQuerier counts the rows its queries return to the caller.
type countingQuerier struct {
	q    store.Querier
	rows *atomic.Int64
}

func (c countingQuerier) Query(ctx context.Context, query string, args ...any) (store.Rows, error) {
	rs, err := c.q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return countingRows{rs, c.rows}, nil
}

type countingRows struct {
	store.Rows
	n *atomic.Int64
}

func (r countingRows) Next() bool {
	if r.Rows.Next() {
		r.n.Add(1)
		return true
	}
	return false
}
