// Package store defines how flowhunt keeps flow records and answers queries
// over them: the canonical schema shared by every backend, and the small
// interfaces the embedded DuckDB store and the ClickHouse store implement.
package store

import (
	"context"

	"github.com/flowhunt/flowhunt/internal/flowlog"
)

// FlowTable is the canonical table of flow records. Its columns are AWS's
// field names with '-' replaced by '_' (see flowlog), so queries written for
// Athena run unchanged, followed by the derived columns below.
const FlowTable = "vpc_flow_logs"

// Derived columns, stored beside the AWS fields, never instead of them.
const (
	ColDate         = "date"          // DATE of start (UTC); the partition key. Athena's tables name it "date" too.
	ColTsStart      = "ts_start"      // TIMESTAMP of start (UTC)
	ColTsEnd        = "ts_end"        // TIMESTAMP of end (UTC)
	ColSrcIP4       = "src_ip4"       // UINTEGER value of srcaddr when IPv4, else NULL
	ColDstIP4       = "dst_ip4"       // UINTEGER value of dstaddr when IPv4, else NULL
	ColSrcIP6       = "src_ip6"       // BLOB (16 bytes, big endian) of srcaddr when IPv6, else NULL
	ColDstIP6       = "dst_ip6"       // BLOB (16 bytes, big endian) of dstaddr when IPv6, else NULL
	ColDirection    = "direction"     // inbound | outbound | internal | external (relative to the internal networks)
	ColSourceObject = "source_object" // the object (file, S3 key, Firehose request) the record came from
	ColSourceLine   = "source_line"   // line (event, row) number within that object
	ColIngestBatch  = "ingest_batch"  // id of the ingest run that stored the record

	// Enrichment at ingest (geo, ASN, threat intel); NULL when the ingest
	// had no such data configured or the address is not in it.
	ColSrcCountry = "src_country" // ISO 3166-1 alpha-2 country of srcaddr (GeoIP database)
	ColDstCountry = "dst_country" // ISO 3166-1 alpha-2 country of dstaddr
	ColSrcASN     = "src_asn"     // autonomous system number of srcaddr (ASN database)
	ColDstASN     = "dst_asn"     // autonomous system number of dstaddr
	ColIntelList  = "intel_list"  // name of the first threat-intel list holding srcaddr, else dstaddr
)

// EnrichColumns are the columns filled only by an enriching ingest.
var EnrichColumns = []string{ColSrcCountry, ColDstCountry, ColSrcASN, ColDstASN, ColIntelList}

// Directions of ColDirection.
const (
	DirInbound  = "inbound"  // external source, internal destination
	DirOutbound = "outbound" // internal source, external destination
	DirInternal = "internal" // both ends internal (east-west)
	DirExternal = "external" // neither end internal
)

// Column describes one column of FlowTable.
type Column struct {
	Name  string
	Type  string        // DuckDB type name: INTEGER, BIGINT, VARCHAR, DATE, TIMESTAMP, UINTEGER, BLOB
	Field flowlog.Field // the AWS field, for AWS columns
	AWS   bool          // an AWS field (as opposed to a derived column)
}

// FlowColumns returns the columns of FlowTable in their stored order: every
// AWS field of the registry, then the derived columns.
func FlowColumns() []Column {
	cols := make([]Column, 0, int(flowlog.NumFields)+16)
	for _, f := range flowlog.AllFields() {
		t := "VARCHAR"
		switch f.Kind() {
		case flowlog.KindInt32:
			t = "INTEGER"
		case flowlog.KindInt64:
			t = "BIGINT"
		}
		cols = append(cols, Column{Name: f.Column(), Type: t, Field: f, AWS: true})
	}
	return append(cols,
		Column{Name: ColDate, Type: "DATE"},
		Column{Name: ColTsStart, Type: "TIMESTAMP"},
		Column{Name: ColTsEnd, Type: "TIMESTAMP"},
		Column{Name: ColSrcIP4, Type: "UINTEGER"},
		Column{Name: ColDstIP4, Type: "UINTEGER"},
		Column{Name: ColSrcIP6, Type: "BLOB"},
		Column{Name: ColDstIP6, Type: "BLOB"},
		Column{Name: ColDirection, Type: "VARCHAR"},
		Column{Name: ColSourceObject, Type: "VARCHAR"},
		Column{Name: ColSourceLine, Type: "BIGINT"},
		Column{Name: ColIngestBatch, Type: "VARCHAR"},
		Column{Name: ColSrcCountry, Type: "VARCHAR"},
		Column{Name: ColDstCountry, Type: "VARCHAR"},
		Column{Name: ColSrcASN, Type: "UINTEGER"},
		Column{Name: ColDstASN, Type: "UINTEGER"},
		Column{Name: ColIntelList, Type: "VARCHAR"},
	)
}

// Rows is a stream of query results; *sql.Rows satisfies it.
type Rows interface {
	Columns() ([]string, error)
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Querier runs SQL written in flowhunt's dialect (DuckDB's, over the
// canonical schema) against a store. Backends translate where they differ.
type Querier interface {
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}
