package server

import (
	"context"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

// The server depends on the other parts of flowhunt through the narrow
// interfaces below, so it can be tested on its own and so the DuckDB (cgo)
// store stays out of this package. cmd/flowhunt wires the real
// implementations.

// Store opens read-only, sandboxed views of the flow store.
type Store interface {
	// Reader returns a reader over the records whose start lies in
	// [from, to); zero times mean unbounded.
	Reader(ctx context.Context, from, to time.Time) (Reader, error)
}

// Reader is one read-only view of the store.
type Reader interface {
	store.Querier
	Close() error
}

// Ingester stores whole objects of flow records. A Firehose request is one
// object keyed by its request id, so a retried request stores nothing twice.
type Ingester interface {
	// IngestObject stores the records of obj atomically: all of them (bad
	// lines going to the rejects table) or, on error, none. An object whose
	// key was already stored is not stored again (Duplicate is set).
	IngestObject(ctx context.Context, obj Object) (IngestResult, error)
}

// Object is a named chunk of flow records in text form: one record per line,
// fields separated by spaces in the order of the configured layout, no header.
type Object struct {
	Key  string
	Body []byte
}

// IngestResult tells what storing one object did.
type IngestResult struct {
	Records   int64 `json:"records"`
	Rejects   int64 `json:"rejects"` // lines of this object that went to the rejects table
	Duplicate bool  `json:"duplicate"`
	// BadLines are this object's rejected lines, when the ingester can
	// tell them (Rejects counts them either way).
	BadLines []BadLine `json:"bad_lines,omitempty"`
	// BadLinesError says why BadLines could not be read back; the object
	// is stored all the same.
	BadLinesError string `json:"bad_lines_error,omitempty"`
}

// BadLine is one line of an object that could not be decoded.
type BadLine struct {
	Line   int64  `json:"line"` // 1-based, counted in the object as ingested
	Reason string `json:"reason"`
}

// Result is a bounded query result.
type Result struct {
	Columns   []string `json:"columns"`
	Rows      [][]any  `json:"rows"`
	Truncated bool     `json:"truncated"`
	SQL       string   `json:"sql,omitempty"` // what ran, after translation
}

// QueryEngine runs user queries (SQL as people write it for Athena, or
// CloudWatch Logs Insights) on a reader: it validates and translates them
// into the store's SQL and applies the deadline of ctx and a row cap.
type QueryEngine interface {
	Run(ctx context.Context, q store.Querier, text string, insights bool, maxRows int) (*Result, error)
}

// Findings keeps the findings of past hunts and their analyst status.
type Findings interface {
	List(ctx context.Context) ([]Finding, error)
	SetStatus(ctx context.Context, id, status string) error
}

// Hunter runs the detectors over a reader, persists what they find (keeping
// analyst status) and returns the findings of this run.
type Hunter interface {
	Hunt(ctx context.Context, q store.Querier) ([]Finding, error)
}

// Auditor evaluates security groups and network ACLs against the flows a
// reader sees. The result is sent to the console as JSON.
type Auditor interface {
	Audit(ctx context.Context, q store.Querier) (any, error)
}

// Inventory gives the AWS context of an entity (ENI, instance, IP): names,
// subnet, VPC, security groups. ok is false when nothing is known.
type Inventory interface {
	Lookup(kind, value string) (info any, ok bool)
}

// Watcher ingests objects that appeared at a watched location since the
// last poll and returns how many objects it stored.
type Watcher interface {
	Poll(ctx context.Context) (objects int, err error)
}

// Deps are the parts of flowhunt the server calls. Store and Query are
// required; the others switch features off when nil.
type Deps struct {
	Store     Store
	Query     QueryEngine
	Ingester  Ingester
	Findings  Findings
	Hunter    Hunter
	Auditor   Auditor
	Inventory Inventory
	Watcher   Watcher
	Now       func() time.Time // injected clock; time.Now when nil
}

// Finding is a detection as the API and the console show it; it follows
// DESIGN.md's finding shape.
type Finding struct {
	ID           string         `json:"id"`
	Detector     string         `json:"detector"`
	Title        string         `json:"title"`
	Severity     string         `json:"severity"`
	Score        float64        `json:"score"`
	MITRE        []string       `json:"mitre"`
	Entity       Entity         `json:"entity"`
	Counterparts []string       `json:"counterparts,omitempty"`
	Ports        []int          `json:"ports,omitempty"`
	FirstSeen    time.Time      `json:"first_seen"`
	LastSeen     time.Time      `json:"last_seen"`
	Evidence     map[string]any `json:"evidence,omitempty"`
	SQL          string         `json:"sql"`
	Links        []string       `json:"links,omitempty"`
	Status       string         `json:"status"`
}

// Entity is what a finding is about.
type Entity struct {
	Kind  string `json:"kind"` // ip, eni, instance, subnet, vpc, account
	Value string `json:"value"`
}

// Severities in increasing order.
var severities = []string{"info", "low", "medium", "high", "critical"}

// SeverityRank returns the rank of a severity name (info=0 … critical=4),
// or -1 for an unknown name.
func SeverityRank(s string) int {
	for i, v := range severities {
		if v == s {
			return i
		}
	}
	return -1
}

// Statuses a finding can be set to.
var statuses = []string{"open", "acknowledged", "false_positive", "resolved"}
