package duckdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store"
)

// The methods below make *Store a store.Backend, the interface the verbs
// and the contract tests (store/storetest) use for either engine.

var _ store.Backend = (*Store)(nil)

// IngestSources is Ingest with the store-neutral options and summary.
func (s *Store) IngestSources(ctx context.Context, srcs []source.Source, opts store.IngestOptions) (store.IngestSummary, error) {
	o := IngestOptions{Format: opts.Format, Layout: opts.Layout, Workers: opts.Workers, Fetchers: opts.Fetchers, Retention: opts.Retention, Batch: opts.Batch, Enrich: opts.Enrich}
	if opts.Progress != nil {
		o.Progress = func(p Progress) {
			opts.Progress(store.Progress{Objects: p.Objects, ObjectsTotal: p.ObjectsTotal, Records: p.Records, Rejects: p.Rejects, Bytes: p.Bytes, BytesTotal: p.BytesTotal, Elapsed: p.Elapsed})
		}
	}
	sum, err := s.Ingest(ctx, srcs, o)
	out := store.IngestSummary{Batch: sum.Batch, Listed: sum.Listed, Ingested: sum.Ingested, Unchanged: sum.Unchanged, Replaced: sum.Replaced,
		Records: sum.Records, Rejects: sum.Rejects, Bytes: sum.Bytes, Expired: sum.Expired, Seconds: sum.Seconds}
	for _, e := range sum.Damaged {
		out.Damaged = append(out.Damaged, store.ObjectError(e))
	}
	for _, e := range sum.Failed {
		out.Failed = append(out.Failed, store.ObjectError(e))
	}
	if errors.Is(err, ErrObjectsFailed) {
		err = fmt.Errorf("%w: %w", err, store.ErrObjectsFailed)
	}
	return out, err
}

// OpenReader is Reader behind the store.Reader interface.
func (s *Store) OpenReader(ctx context.Context, opts store.ReaderOptions) (store.Reader, error) {
	return s.Reader(ctx, ReaderOptions{From: opts.From, To: opts.To, Setup: opts.Setup})
}
