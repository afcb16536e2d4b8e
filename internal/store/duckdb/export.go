package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

// ExportOptions choose what ExportParquet writes.
type ExportOptions struct {
	From, To time.Time // day partitions to export; zero: all
	// Location is the S3 location the Athena DDL points at; a placeholder
	// when empty.
	Location string
}

// ExportSummary reports an export.
type ExportSummary struct {
	Dir   string `json:"dir"`
	Rows  int64  `json:"rows"`
	Files int    `json:"files"`
	DDL   string `json:"ddl"` // path of the Athena CREATE TABLE file
}

// athenaType maps a column type to Athena's (Hive DDL) type name.
func athenaType(t string) string {
	switch t {
	case "INTEGER":
		return "int"
	case "BIGINT", "UINTEGER":
		return "bigint"
	case "TIMESTAMP":
		return "timestamp"
	case "BLOB":
		return "binary"
	case "DATE":
		return "date"
	default:
		return "string"
	}
}

// ExportParquet writes vpc_flow_logs to out as Hive-partitioned Parquet
// (out/date=YYYY-MM-DD/*.parquet, zstd) plus athena.sql, the CREATE TABLE
// that reads it. Unsigned columns are widened to BIGINT, which Athena reads.
func (s *Store) ExportParquet(ctx context.Context, out string, opts ExportOptions) (ExportSummary, error) {
	sum := ExportSummary{Dir: out}
	out, err := filepath.Abs(out)
	if err != nil {
		return sum, fmt.Errorf("cannot export to %q: %w", out, err)
	}
	if ents, err := os.ReadDir(out); err == nil && len(ents) > 0 {
		return sum, fmt.Errorf("cannot export to %s: the directory is not empty", out)
	}
	m, err := loadManifest(s.dir)
	if err != nil {
		return sum, err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return sum, fmt.Errorf("cannot open query engine: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, flowView(s.dir, m, opts.From, opts.To)); err != nil {
		return sum, fmt.Errorf("cannot export: %w", err)
	}
	var sel, cols []string
	for _, c := range store.FlowColumns() {
		if c.Type == "UINTEGER" {
			sel = append(sel, "CAST("+quoteIdent(c.Name)+" AS BIGINT) AS "+quoteIdent(c.Name))
		} else {
			sel = append(sel, quoteIdent(c.Name))
		}
		if c.Name != store.ColDate {
			cols = append(cols, fmt.Sprintf("  `%s` %s", c.Name, athenaType(c.Type)))
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return sum, fmt.Errorf("cannot export to %s: %w", out, err)
	}
	q := "COPY (SELECT " + strings.Join(sel, ", ") + " FROM vpc_flow_logs) TO " + quoteString(out) +
		" (FORMAT parquet, PARTITION_BY (date), COMPRESSION zstd, OVERWRITE_OR_IGNORE, FILENAME_PATTERN 'part-{i}')"
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM vpc_flow_logs").Scan(&sum.Rows); err != nil {
		return sum, fmt.Errorf("cannot export: %w", err)
	}
	if _, err := db.ExecContext(ctx, q); err != nil {
		return sum, fmt.Errorf("cannot export to %s: %w", out, err)
	}
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			sum.Files++
		}
		return nil
	})
	loc := opts.Location
	if loc == "" {
		loc = "s3://YOUR-BUCKET/flowhunt/vpc_flow_logs/"
	}
	ddl := "-- Athena table over the Parquet files flowhunt exported.\n" +
		"-- Upload the directory to " + loc + " (keeping the date=YYYY-MM-DD folders), then run:\n" +
		"CREATE EXTERNAL TABLE IF NOT EXISTS vpc_flow_logs (\n" + strings.Join(cols, ",\n") + "\n)\n" +
		"PARTITIONED BY (`date` date)\n" +
		"STORED AS PARQUET\n" +
		"LOCATION '" + loc + "'\n" +
		"TBLPROPERTIES ('parquet.compression'='ZSTD');\n\n" +
		"MSCK REPAIR TABLE vpc_flow_logs;\n"
	sum.DDL = filepath.Join(out, "athena.sql")
	if err := os.WriteFile(sum.DDL, []byte(ddl), 0o644); err != nil {
		return sum, fmt.Errorf("cannot write %s: %w", sum.DDL, err)
	}
	return sum, nil
}
