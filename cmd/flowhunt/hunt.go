package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/store"
)

func init() {
	register("hunt", "run the detectors over stored flows and rank the findings", runHunt)
}

func runHunt(ctx context.Context, args []string) error {
	fs := newFlags("hunt", "[--since 24h | --from T --to T] [--internal CIDRS] [--detector NAME,...] [--min-severity S] [--config FILE] [--output table|jsonl|ocsf|asff] [--fail-on S]")
	data := fs.String("data", "", "data directory (env FLOWHUNT_DATA, default ./flowhunt-data); holds the findings file")
	storeU := storeFlag(fs)
	since := fs.String("since", "", "hunt over the last duration of data (24h, 7d), counted back from the newest record")
	fromS := fs.String("from", "", "window start (RFC 3339 or YYYY-MM-DD)")
	toS := fs.String("to", "", "window end, exclusive")
	detectors := fs.String("detector", "", "run only these detectors or rules (comma-separated)")
	minSev := fs.String("min-severity", "low", "report findings at or above: info, low, medium, high, critical")
	cfgPath := fs.String("config", "", "hunt configuration YAML (internal CIDRs, thresholds, allowlists, intel lists, rules)")
	intel := fs.String("intel", "", "extra threat-intel list files (comma-separated)")
	output := fs.String("output", "table", "table, jsonl, ocsf or asff")
	failOn := fs.String("fail-on", "", "exit with status 3 when a finding at or above this severity is found")
	suppressed := fs.Bool("show-suppressed", false, "also print findings suppressed by an allowlist")
	noSave := fs.Bool("no-save", false, "do not record the findings in the data directory")
	webhook := fs.String("webhook", "", "POST the reported findings as JSON to this URL")
	internal := fs.String("internal", "", "internal CIDRs besides RFC 1918, 100.64/10 and fc00::/7, e.g. the VPCs' IPv6 /56 blocks (comma-separated; as given to ingest)")
	account := fs.String("account", "000000000000", "AWS account id for --output asff")
	region := fs.String("region", "us-east-1", "AWS region for --output asff")
	parallel := fs.Int("parallel", 2, "detectors run at once")
	memLimit := fs.String("memory-limit", "1GiB", "query memory of the embedded store (DuckDB) for the hunt, e.g. 512MiB, 2GiB; larger aggregates spill to disk in the data directory; 0: DuckDB's default, 80%% of RAM")
	profile := fs.Bool("profile", false, "print each detector's time, rows read and the process's memory to stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadHuntConfig(*cfgPath, *intel)
	if err != nil {
		return err
	}
	if *internal != "" {
		extra, err := parseCIDRList(*internal)
		if err != nil {
			return fmt.Errorf("%w: --internal: %v", errUsage, err)
		}
		if len(cfg.InternalCIDRs) == 0 {
			for _, p := range detect.DefaultInternal {
				cfg.InternalCIDRs = append(cfg.InternalCIDRs, p.String())
			}
		}
		for _, p := range extra {
			cfg.InternalCIDRs = append(cfg.InternalCIDRs, p.String())
		}
	}
	if cfg.MinSeverity, err = detect.ParseSeverity(*minSev); err != nil {
		return fmt.Errorf("%w: --min-severity: %v", errUsage, err)
	}
	var failSev detect.Severity = -1
	if *failOn != "" {
		if failSev, err = detect.ParseSeverity(*failOn); err != nil {
			return fmt.Errorf("%w: --fail-on: %v", errUsage, err)
		}
	}
	switch *output {
	case "table", "jsonl", "ocsf", "asff":
	default:
		return fmt.Errorf("%w: --output %q: want table, jsonl, ocsf or asff", errUsage, *output)
	}
	if *detectors != "" {
		for _, d := range strings.Split(*detectors, ",") {
			cfg.Only = append(cfg.Only, strings.TrimSpace(d))
		}
	}
	if *fromS != "" {
		if cfg.From, err = parseTimeFlag(*fromS); err != nil {
			return fmt.Errorf("%w: --from: %v", errUsage, err)
		}
	}
	if *toS != "" {
		if cfg.To, err = parseTimeFlag(*toS); err != nil {
			return fmt.Errorf("%w: --to: %v", errUsage, err)
		}
	}
	if *parallel < 1 {
		return fmt.Errorf("%w: --parallel %d: want 1 or more", errUsage, *parallel)
	}
	cfg.Parallel = *parallel
	lim := int64(-1) // 0: DuckDB's own default
	if *memLimit != "0" {
		if lim, err = parseBytes(*memLimit); err != nil {
			return fmt.Errorf("%w: --memory-limit: %v", errUsage, err)
		}
	}
	if *profile {
		cfg.Observe = printDetectorRun(os.Stderr, time.Now())
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	st, err := openStore(ctx, *storeU, *data, cfg.Internal())
	if err != nil {
		return err
	}
	defer st.Close()
	if *since != "" {
		d, err := parseAgeFlag(*since)
		if err != nil {
			return fmt.Errorf("%w: --since: %v", errUsage, err)
		}
		newest, err := newestRecord(ctx, st, *storeU, *data)
		if err != nil {
			return err
		}
		cfg.To = newest.Add(time.Second)
		cfg.From = cfg.To.Add(-d)
	}
	// The reader sees the baseline days before the window too.
	ro := store.ReaderOptions{To: cfg.To}
	if storeURL(*storeU) == "" {
		// DuckDB spills aggregates larger than the memory limit here: inside
		// the data directory, the only one the sandboxed reader may write.
		// A read-only data directory leaves DuckDB's default; a hunt that
		// fits the limit never spills.
		b := detect.Budget{MemoryLimit: lim}
		if spill, err := os.MkdirTemp(dataDir(*data), ".hunt-spill-"); err == nil {
			defer os.RemoveAll(spill)
			b.TempDir = spill
		}
		ro.Setup = b.Setup()
		cfg.PassRecords = detect.PassRecords(lim)
	}
	if !cfg.From.IsZero() {
		ro.From = cfg.From.Add(-time.Duration(cfg.BaselineDays) * 24 * time.Hour)
	}
	rd, err := st.OpenReader(ctx, ro)
	if err != nil {
		return err
	}
	defer rd.Close()
	t0 := time.Now()
	found, err := detect.Hunt(ctx, rd, *cfg)
	if err != nil {
		return err
	}
	took := time.Since(t0)
	if *profile {
		fmt.Fprintf(os.Stderr, "hunt: %d findings in %.1fs, peak RSS %s\n", len(found), took.Seconds(), procMiB("VmHWM"))
	}
	if !*noSave {
		// The findings file in the data directory keeps the analyst status
		// whichever store holds the flows; the findings side table makes
		// them queryable next to the flows.
		fst := detect.NewFindingStore(dataDir(*data))
		if found, err = fst.Merge(found); err != nil {
			return err
		}
		all, err := fst.Load()
		if err != nil {
			return err
		}
		if err := st.PutTable(ctx, "findings", detect.FindingColumns(), detect.FindingRows(all), true); err != nil {
			return fmt.Errorf("cannot store findings table: %w", err)
		}
	}
	shown := found[:0:0]
	for _, f := range found {
		if f.Suppressed == "" || *suppressed {
			shown = append(shown, f)
		}
	}
	if err := writeFindings(os.Stdout, shown, *output, detect.ASFFOptions{AccountID: *account, Region: *region}); err != nil {
		return err
	}
	if *output == "table" {
		nsup := len(found) - len(shown)
		fmt.Fprintf(os.Stderr, "%d findings (%d suppressed by allowlist) in %.1fs\n", len(shown), nsup, took.Seconds())
	}
	if *webhook != "" {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := detect.PostWebhook(wctx, http.DefaultClient, *webhook, shown); err != nil {
			return err
		}
	}
	if failSev >= 0 {
		for _, f := range shown {
			if f.Severity >= failSev && f.Suppressed == "" {
				return &exitCodeError{code: exitFindings, err: fmt.Errorf("findings at or above %s", failSev)}
			}
		}
	}
	return nil
}

// loadHuntConfig reads the YAML configuration, its intel lists and rules.
func loadHuntConfig(path, extraIntel string) (*detect.Config, error) {
	cfg := &detect.Config{}
	base := "."
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("cannot read config %s: %w", path, err)
		}
		if cfg, err = detect.ParseConfig(b, path); err != nil {
			return nil, err
		}
		base = filepath.Dir(path)
	}
	rel := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	lists := make([]string, 0, len(cfg.IntelFiles))
	for _, p := range cfg.IntelFiles {
		lists = append(lists, rel(p))
	}
	for _, p := range strings.Split(extraIntel, ",") {
		if p = strings.TrimSpace(p); p != "" {
			lists = append(lists, p)
		}
	}
	if len(lists) > 0 {
		cfg.Intel = &detect.IntelSet{}
		for _, p := range lists {
			f, err := os.Open(p)
			if err != nil {
				return nil, fmt.Errorf("cannot open intel list: %w", err)
			}
			err = cfg.Intel.ReadIntel(f, filepath.Base(p))
			f.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	for _, p := range cfg.RuleFiles {
		rs, err := loadRules(rel(p))
		if err != nil {
			return nil, err
		}
		cfg.Rules = append(cfg.Rules, rs...)
	}
	return cfg, nil
}

func newestRecord(ctx context.Context, st store.Backend, storeFlagValue, dataFlagValue string) (time.Time, error) {
	rd, err := st.OpenReader(ctx, store.ReaderOptions{})
	if err != nil {
		return time.Time{}, err
	}
	defer rd.Close()
	rows, err := rd.Query(ctx, "SELECT max(start) FROM vpc_flow_logs")
	if err != nil {
		return time.Time{}, fmt.Errorf("cannot find the newest record: %w", err)
	}
	defer rows.Close()
	var v *int64
	if rows.Next() {
		if err := rows.Scan(&v); err != nil {
			return time.Time{}, fmt.Errorf("cannot find the newest record: %w", err)
		}
	}
	if v == nil {
		where := "the data directory " + dataDir(dataFlagValue)
		if u := storeURL(storeFlagValue); u != "" {
			where = "the store " + cutFlag(u, 80)
		}
		return time.Time{}, fmt.Errorf("cannot hunt: %s holds no flow records (run flowhunt ingest)", where)
	}
	return time.Unix(*v, 0).UTC(), nil
}

func writeFindings(w io.Writer, fs []detect.Finding, output string, ao detect.ASFFOptions) error {
	switch output {
	case "jsonl":
		return detect.WriteJSONL(w, fs)
	case "ocsf", "asff":
		enc := json.NewEncoder(w)
		for i := range fs {
			var v any
			if output == "ocsf" {
				v = detect.OCSF(&fs[i])
			} else {
				v = detect.ASFF(&fs[i], ao)
			}
			if err := enc.Encode(v); err != nil {
				return fmt.Errorf("cannot write finding %s: %w", fs[i].ID, err)
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tSCORE\tDETECTOR\tENTITY\tFIRST SEEN\tTITLE")
	for _, f := range fs {
		title := f.Title
		if f.Suppressed != "" {
			title += " [suppressed: " + f.Suppressed + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\n", f.ID, f.Severity, f.Score, f.Detector, f.Entity.Value, f.FirstSeen.Format("2006-01-02T15:04Z"), title)
	}
	return tw.Flush()
}

// printDetectorRun returns the --profile observer: one line per finished
// detector, with the process's resident memory then and its peak so far
// (Linux; "-" elsewhere). With --parallel 1 the peak's growth belongs to
// the detector on the line.
func printDetectorRun(w io.Writer, start time.Time) func(detect.DetectorRun) {
	fmt.Fprintf(w, "%-8s %-24s %8s %10s %8s %9s %9s\n", "AT", "DETECTOR", "TOOK", "ROWS", "FINDINGS", "RSS", "PEAK RSS")
	return func(r detect.DetectorRun) {
		fmt.Fprintf(w, "%-8s %-24s %7.1fs %10d %8d %9s %9s\n", fmt.Sprintf("%.1fs", time.Since(start).Seconds()), r.Name, r.Took.Seconds(), r.Rows, r.Findings, procMiB("VmRSS"), procMiB("VmHWM"))
	}
}

// procMiB reads a memory field of /proc/self/status (VmRSS, VmHWM) as
// "123 MiB", or "-" where there is no such file.
func procMiB(field string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "-"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return fmt.Sprintf("%d MiB", kb>>10)
				}
			}
		}
	}
	return "-"
}

// parseBytes reads a size such as 512MiB, 2GiB, 1.5GB or 1073741824:
// KiB, MiB, GiB and TiB are powers of 1024, KB, MB, GB and TB of 1000.
func parseBytes(s string) (int64, error) {
	num := strings.TrimRight(s, "BbIiKkMmGgTt")
	unit := strings.ToLower(s[len(num):])
	mult := map[string]float64{"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}[unit]
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || mult == 0 || v <= 0 || v*mult > 1<<62 {
		return 0, fmt.Errorf("cannot parse size %q: want a positive number of bytes with an optional unit (512MiB, 2GiB, 1.5GB)", cutFlag(s, 40))
	}
	return int64(v * mult), nil
}
