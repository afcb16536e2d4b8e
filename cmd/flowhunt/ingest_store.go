package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"

	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

// ingestBackend is `flowhunt ingest` on a store selected by --store (a
// ClickHouse cluster): the same sources, summary and rejects as the
// embedded store, through the store.Backend interface. Options only the
// embedded store has (segment codec, compaction) do not apply.
func ingestBackend(ctx context.Context, storeFlagValue, dataFlagValue string, cidrs []netip.Prefix, uris []string,
	scfg source.Config, o duckdb.IngestOptions, output string, showRejects bool) error {
	st, err := openStore(ctx, storeFlagValue, dataFlagValue, cidrs)
	if err != nil {
		return err
	}
	defer st.Close()
	if len(uris) > 0 {
		var list []source.Source
		for _, uri := range uris {
			s, err := source.Open(ctx, uri, scfg)
			if err != nil {
				return err
			}
			list = append(list, s)
		}
		opts := store.IngestOptions{Format: o.Format, Layout: o.Layout, Workers: o.Workers, Fetchers: o.Fetchers, Retention: o.Retention, Batch: o.Batch, Enrich: o.Enrich}
		if isTerminal(os.Stderr) && output == "table" {
			pp := progressPrinter(os.Stderr)
			opts.Progress = func(p store.Progress) { pp(duckdb.Progress(p)) }
		}
		sum, err := st.IngestSources(ctx, list, opts)
		if opts.Progress != nil {
			fmt.Fprint(os.Stderr, "\r\033[K")
		}
		if output == "json" {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			enc.Encode(sum)
		} else {
			printSummary(os.Stdout, summaryOf(sum))
		}
		if err != nil {
			return err
		}
	}
	if showRejects {
		return printRejects(ctx, st, output)
	}
	return nil
}

// summaryOf is a store summary in the embedded store's shape, which
// printSummary takes.
func summaryOf(s store.IngestSummary) duckdb.IngestSummary {
	out := duckdb.IngestSummary{Batch: s.Batch, Listed: s.Listed, Ingested: s.Ingested, Unchanged: s.Unchanged, Replaced: s.Replaced,
		Records: s.Records, Rejects: s.Rejects, Bytes: s.Bytes, Expired: s.Expired, Seconds: s.Seconds}
	for _, e := range s.Damaged {
		out.Damaged = append(out.Damaged, duckdb.ObjectError(e))
	}
	for _, e := range s.Failed {
		out.Failed = append(out.Failed, duckdb.ObjectError(e))
	}
	return out
}
