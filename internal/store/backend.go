package store

import (
	"context"
	"errors"
	"time"

	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/source"
)

// Backend is what the verbs need from a store, whichever engine holds the
// data: the embedded DuckDB store (store/duckdb) and the ClickHouse cluster
// (store/clickhouse) both satisfy it, and storetest.Run checks that they
// behave alike.
type Backend interface {
	// IngestSources stores every object of srcs not yet ingested, exactly
	// once: an object whose ingest was cut short is stored again in full on
	// the next run, never twice.
	IngestSources(ctx context.Context, srcs []source.Source, opts IngestOptions) (IngestSummary, error)
	// OpenReader returns a read-only view of the store; vpc_flow_logs is
	// restricted to [From, To) when set. Queries are flowhunt SQL (DuckDB's
	// dialect over the canonical schema); backends translate.
	OpenReader(ctx context.Context, opts ReaderOptions) (Reader, error)
	// PutTable stores a side table (CloudTrail, GuardDuty, findings …).
	PutTable(ctx context.Context, name string, cols []Column, rows [][]any, replace bool) error
	// Expire drops the day partitions older than cutoff's day and returns
	// them as YYYY-MM-DD.
	Expire(ctx context.Context, cutoff time.Time) ([]string, error)
	Close() error
}

// Reader is a read-only view of a Backend.
type Reader interface {
	Querier
	Close() error
}

// ReaderOptions choose what a Reader sees.
type ReaderOptions struct {
	From, To time.Time // zero leaves a side open
	// Setup statements run before the reader is sandboxed (DuckDB macros);
	// backends without such a step ignore them.
	Setup []string
}

// IngestOptions tune one ingest run.
type IngestOptions struct {
	Format    flowlog.Format // FormatAuto sniffs each object
	Layout    flowlog.Layout // for objects without a header line; zero: DefaultLayout
	Workers   int            // objects decoded in parallel; default GOMAXPROCS
	Fetchers  int            // objects downloaded ahead; default 16 for S3, none for files; negative: none
	Retention time.Duration  // drop day partitions older than now-Retention; 0 keeps all
	Batch     string         // names the run in ingest_batch; default a timestamp
	Progress  func(Progress) // called after each object (serialised)
	// Enrich, when set, fills the geo, ASN and threat-intel columns
	// (src_country … intel_list); without it they are NULL.
	Enrich *enrich.Enricher
}

// Progress is the state of a running ingest.
type Progress struct {
	Objects, ObjectsTotal int
	Records, Rejects      int64
	Bytes, BytesTotal     int64
	Elapsed               time.Duration
}

// IngestSummary reports what an ingest did.
type IngestSummary struct {
	Batch     string        `json:"batch"`
	Listed    int           `json:"listed"`
	Ingested  int           `json:"ingested"`
	Unchanged int           `json:"unchanged"`
	Replaced  int           `json:"replaced"`
	Records   int64         `json:"records"`
	Rejects   int64         `json:"rejects"`
	Bytes     int64         `json:"bytes"`
	Damaged   []ObjectError `json:"damaged,omitempty"`
	Failed    []ObjectError `json:"failed,omitempty"`
	Expired   []string      `json:"expired,omitempty"`
	Seconds   float64       `json:"seconds"`
}

// ObjectError names an object and what went wrong with it.
type ObjectError struct {
	Object string `json:"object"`
	Error  string `json:"error"`
}

// ErrObjectsFailed is returned (wrapped) when some objects could not be
// stored; the others are committed and a re-run retries the failed ones.
var ErrObjectsFailed = errors.New("some objects could not be ingested")
