package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

func init() {
	register("export", "export stored flow logs as Hive-partitioned Parquet with an Athena DDL", runExport)
}

func runExport(ctx context.Context, args []string) error {
	fs := newFlags("export", "parquet --out DIR [--from T] [--to T] [--location s3://bucket/prefix/]")
	data := fs.String("data", "", "data directory (default $FLOWHUNT_DATA or ./flowhunt-data)")
	out := fs.String("out", "", "output directory (must be empty or absent)")
	from := fs.String("from", "", "first day to export (RFC 3339 or YYYY-MM-DD)")
	to := fs.String("to", "", "export records before this time (RFC 3339 or YYYY-MM-DD)")
	location := fs.String("location", "", "S3 location the Athena table will read (for athena.sql)")
	output := fs.String("output", "table", "output: table or json")
	storeU := storeFlag(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "parquet" {
		fs.Usage()
		return fmt.Errorf("%w: the only export format is parquet: flowhunt export parquet --out DIR", errUsage)
	}
	if *out == "" {
		return fmt.Errorf("%w: --out DIR is required", errUsage)
	}
	opts := duckdb.ExportOptions{Location: *location}
	if *from != "" {
		if opts.From, err = parseTimeFlag(*from); err != nil {
			return fmt.Errorf("%w: --from: %v", errUsage, err)
		}
	}
	if *to != "" {
		if opts.To, err = parseTimeFlag(*to); err != nil {
			return fmt.Errorf("%w: --to: %v", errUsage, err)
		}
	}
	if err := embeddedOnly("export", *storeU); err != nil {
		return err
	}
	st, err := openDataStore(ctx, *data, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	sum, err := st.ExportParquet(ctx, *out, opts)
	if err != nil {
		return err
	}
	if *output == "json" {
		return json.NewEncoder(os.Stdout).Encode(sum)
	}
	fmt.Printf("exported %d records in %d Parquet files to %s\nAthena table: %s\n", sum.Rows, sum.Files, sum.Dir, sum.DDL)
	return nil
}
