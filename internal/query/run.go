package query

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

// Defaults of Limits.
const (
	DefaultTimeout = 60 * time.Second
	DefaultMaxRows = 10000
)

// Limits bound one query. Zero values take the defaults; a negative
// MaxRows means no row cap.
type Limits struct {
	Timeout time.Duration // deadline of the whole query, rows included
	MaxRows int           // rows kept; more set Result.Truncated
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxRows == 0 {
		l.MaxRows = DefaultMaxRows
	}
	return l
}

// Result holds the rows of a query.
type Result struct {
	Columns   []string
	Rows      [][]any
	Truncated bool   // the row cap cut the result
	SQL       string // the SQL that ran, after translation
}

// ErrTimeout is returned when a query exceeds Limits.Timeout.
var ErrTimeout = errors.New("query timed out")

// Run validates and translates sql (flowhunt's SQL: DuckDB's, plus the
// seed's and Athena's forms, see Translate) and runs it on q with a deadline
// and a row cap.
func Run(ctx context.Context, q store.Querier, sql string, lim Limits) (*Result, error) {
	tr, err := Translate(sql, DialectDuckDB)
	if err != nil {
		return nil, err
	}
	return execute(ctx, q, tr, lim)
}

// RunInsights translates a CloudWatch Logs Insights query and runs it like
// Run.
func RunInsights(ctx context.Context, q store.Querier, insights string, lim Limits) (*Result, error) {
	tr, err := TranslateInsights(insights, DialectDuckDB)
	if err != nil {
		return nil, err
	}
	return execute(ctx, q, tr, lim)
}

func execute(ctx context.Context, q store.Querier, sql string, lim Limits) (*Result, error) {
	lim = lim.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	res, err := scan(ctx, q, sql, lim)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("cannot run query: %w after %s (raise --timeout)", ErrTimeout, lim.Timeout)
		}
		return nil, err
	}
	return res, nil
}

func scan(ctx context.Context, q store.Querier, sql string, lim Limits) (*Result, error) {
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("cannot run query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("cannot read query columns: %w", err)
	}
	res := &Result{Columns: cols, SQL: sql}
	for rows.Next() {
		if lim.MaxRows > 0 && len(res.Rows) >= lim.MaxRows {
			res.Truncated = true
			break
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("cannot read query row %d: %w", len(res.Rows)+1, err)
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read query rows: %w", err)
	}
	return res, nil
}
