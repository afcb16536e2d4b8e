package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

func init() {
	register("ingest", "store flow logs from files, directories or s3://bucket/prefix", runIngest)
}

// parseInterleaved parses flags that may follow positional arguments
// ("flowhunt ingest DIR --since 24h").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func runIngest(ctx context.Context, args []string) error {
	fs := newFlags("ingest", "[flags] SOURCE… (file, directory, s3://bucket/prefix)")
	data := fs.String("data", "", "data directory (default $FLOWHUNT_DATA or ./flowhunt-data)")
	since := fs.String("since", "", "only objects of the last D (24h, 7d), judged from their keys")
	from := fs.String("from", "", "only objects from this time (RFC 3339 or YYYY-MM-DD)")
	to := fs.String("to", "", "only objects before this time (RFC 3339 or YYYY-MM-DD)")
	region := fs.String("region", "", "S3 region (default: the AWS SDK's configuration)")
	endpoint := fs.String("endpoint", "", "S3-compatible endpoint URL")
	pathStyle := fs.Bool("path-style", false, "path-style S3 addressing (S3-compatible stores)")
	format := fs.String("format", "auto", "delivery format: auto, text, cloudwatch, firehose, parquet")
	logFormat := fs.String("log-format", "", "field layout of objects without a header line, as the flow log's LogFormat ('${version} ${account-id} …')")
	retention := fs.String("retention", "", "drop day partitions older than this (90d)")
	internal := fs.String("internal", "", "internal CIDRs besides RFC 1918, 100.64/10 and fc00::/7 (comma-separated)")
	output := fs.String("output", "table", "output: table or json")
	showRejects := fs.Bool("show-rejects", false, "list the bad lines kept in the rejects table")
	workers := fs.Int("workers", 0, "objects decoded in parallel (default: one per core)")
	fetchers := fs.Int("fetchers", 0, "objects downloaded ahead of the decoders, whole, within 64 MiB (default: 16 for S3, none for files; -1: none)")
	geoip := fs.String("geoip", "", "MaxMind country (or city) database: fills src_country, dst_country")
	asnDB := fs.String("asn", "", "MaxMind ASN database: fills src_asn, dst_asn")
	intel := fs.String("intel", "", "threat-intel lists, files or URLs (comma-separated; one IP or CIDR per line): fills intel_list")
	codec := fs.String("codec", "none", "compression of new Parquet segments: none (fastest queries), snappy or zstd (smaller)")
	storeU := storeFlag(fs)
	srcs, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	defer limitIngestMemory()()
	if *output != "table" && *output != "json" {
		return fmt.Errorf("%w: --output must be table or json", errUsage)
	}
	if len(srcs) == 0 && !*showRejects {
		fs.Usage()
		return fmt.Errorf("%w: no SOURCE given", errUsage)
	}
	var rng source.TimeRange
	if *since != "" {
		d, err := parseAgeFlag(*since)
		if err != nil {
			return fmt.Errorf("%w: --since: %v", errUsage, err)
		}
		rng.From = time.Now().Add(-d)
	}
	if *from != "" {
		if rng.From, err = parseTimeFlag(*from); err != nil {
			return fmt.Errorf("%w: --from: %v", errUsage, err)
		}
	}
	if *to != "" {
		if rng.To, err = parseTimeFlag(*to); err != nil {
			return fmt.Errorf("%w: --to: %v", errUsage, err)
		}
	}
	opts := duckdb.IngestOptions{Workers: *workers, Fetchers: *fetchers}
	if opts.Format, err = flowlog.ParseFormat(*format); err != nil {
		return fmt.Errorf("%w: --format: %v", errUsage, err)
	}
	if *logFormat != "" {
		if opts.Layout, err = flowlog.ParseLayout(*logFormat); err != nil {
			return fmt.Errorf("%w: --log-format: %v", errUsage, err)
		}
	}
	if *retention != "" {
		if opts.Retention, err = parseAgeFlag(*retention); err != nil {
			return fmt.Errorf("%w: --retention: %v", errUsage, err)
		}
	}
	cidrs, err := parseCIDRList(*internal)
	if err != nil {
		return fmt.Errorf("%w: --internal: %v", errUsage, err)
	}
	if *geoip != "" || *asnDB != "" || *intel != "" {
		ecfg := enrich.Config{CountryDB: *geoip, ASNDB: *asnDB}
		for _, l := range strings.Split(*intel, ",") {
			if l = strings.TrimSpace(l); l != "" {
				ecfg.IntelLists = append(ecfg.IntelLists, l)
			}
		}
		e, err := enrich.New(ctx, ecfg)
		if err != nil {
			return err
		}
		defer e.Close()
		opts.Enrich = e
	}
	if u := storeURL(*storeU); u != "" {
		scfg := source.Config{Range: rng, Region: *region, Endpoint: *endpoint, PathStyle: *pathStyle}
		return ingestBackend(ctx, *storeU, *data, cidrs, srcs, scfg, opts, *output, *showRejects)
	}
	st, err := duckdb.Open(ctx, duckdb.Config{Dir: dataDir(*data), InternalCIDRs: cidrs, Codec: *codec})
	if err != nil {
		return err
	}
	defer st.Close()
	if len(srcs) > 0 {
		cfg := source.Config{Range: rng, Region: *region, Endpoint: *endpoint, PathStyle: *pathStyle}
		var list []source.Source
		for _, uri := range srcs {
			s, err := source.Open(ctx, uri, cfg)
			if err != nil {
				return err
			}
			list = append(list, s)
		}
		if isTerminal(os.Stderr) && *output == "table" {
			opts.Progress = progressPrinter(os.Stderr)
		}
		sum, err := st.Ingest(ctx, list, opts)
		if opts.Progress != nil {
			fmt.Fprint(os.Stderr, "\r\033[K")
		}
		if *output == "json" {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			enc.Encode(sum)
		} else {
			printSummary(os.Stdout, sum)
		}
		if err != nil {
			return err
		}
	}
	if *showRejects {
		return printRejects(ctx, st, *output)
	}
	return nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressPrinter redraws one status line at most five times a second.
func progressPrinter(w io.Writer) func(duckdb.Progress) {
	var last time.Time
	return func(p duckdb.Progress) {
		if time.Since(last) < 200*time.Millisecond && p.Objects < p.ObjectsTotal {
			return
		}
		last = time.Now()
		secs := p.Elapsed.Seconds()
		mbs := float64(p.Bytes) / 1e6 / max(secs, 1e-3)
		eta := "?"
		if p.Bytes > 0 {
			rest := time.Duration(float64(p.Elapsed) * float64(p.BytesTotal-p.Bytes) / float64(p.Bytes))
			eta = rest.Round(time.Second).String()
		}
		fmt.Fprintf(w, "\r\033[Kobjects %d/%d  records %s  bad lines %d  %.1f MB/s  ETA %s",
			p.Objects, p.ObjectsTotal, human(p.Records), p.Rejects, mbs, eta)
	}
}

func human(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	default:
		return fmt.Sprint(n)
	}
}

func printSummary(w io.Writer, s duckdb.IngestSummary) {
	rate := float64(s.Records) / max(s.Seconds, 1e-3)
	fmt.Fprintf(w, "ingested %d objects (%d unchanged, %d replaced), %d records, %d bad lines in %.1fs (%s records/s)\n",
		s.Ingested, s.Unchanged, s.Replaced, s.Records, s.Rejects, s.Seconds, human(int64(rate)))
	for _, d := range s.Damaged {
		fmt.Fprintf(w, "damaged: %s: %s (records before the damage were stored)\n", d.Object, d.Error)
	}
	for _, f := range s.Failed {
		fmt.Fprintf(w, "failed: %s: %s (not stored; run again to retry)\n", f.Object, f.Error)
	}
	if len(s.Expired) > 0 {
		fmt.Fprintf(w, "retention dropped %d day partitions: %s\n", len(s.Expired), strings.Join(s.Expired, ", "))
	}
	if s.Rejects > 0 {
		fmt.Fprintf(w, "bad lines are kept: flowhunt ingest --show-rejects\n")
	}
}

func printRejects(ctx context.Context, st store.Backend, output string) error {
	r, err := st.OpenReader(ctx, store.ReaderOptions{})
	if err != nil {
		return err
	}
	defer r.Close()
	rows, err := r.Query(ctx, "SELECT object, line, reason, text FROM rejects ORDER BY object, line LIMIT 10000")
	if err != nil {
		return err
	}
	defer rows.Close()
	type rej struct {
		Object string `json:"object"`
		Line   int64  `json:"line"`
		Reason string `json:"reason"`
		Text   string `json:"text"`
	}
	var list []rej
	for rows.Next() {
		var x rej
		if err := rows.Scan(&x.Object, &x.Line, &x.Reason, &x.Text); err != nil {
			return fmt.Errorf("cannot read rejects: %w", err)
		}
		list = append(list, x)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cannot read rejects: %w", err)
	}
	if output == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if list == nil {
			list = []rej{}
		}
		return enc.Encode(list)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECT\tLINE\tREASON\tTEXT")
	for _, x := range list {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", x.Object, x.Line, x.Reason, cutText(x.Text, 80))
	}
	tw.Flush()
	fmt.Fprintf(os.Stderr, "%d bad lines\n", len(list))
	return nil
}

func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ingestMemoryLimit is the soft limit of the ingest's Go heap, unless
// GOMEMLIMIT sets another. The ingest's live data (open row groups,
// whole objects, dictionaries) stays near 300–400 MB; without a limit Go
// lets the heap grow to twice that before collecting, which passed 1 GiB
// of RSS on the 100 M-record benchmark set. Collections are cheap here:
// the heap is mostly large pointer-free buffers.
const ingestMemoryLimit = 640 << 20

// limitIngestMemory sets the limit and returns what puts the previous one
// back (other verbs run in the same process in `flowhunt demo`).
func limitIngestMemory() func() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	old := debug.SetMemoryLimit(ingestMemoryLimit)
	return func() { debug.SetMemoryLimit(old) }
}
