package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/query"
	"github.com/flowhunt/flowhunt/internal/store"
	"github.com/flowhunt/flowhunt/internal/store/clickhouse"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

// dataDir returns the data directory: the flag's value, else
// FLOWHUNT_DATA, else ./flowhunt-data.
func dataDir(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv("FLOWHUNT_DATA"); v != "" {
		return v
	}
	return "flowhunt-data"
}

// openDataStore opens the embedded store of a data directory flag.
func openDataStore(ctx context.Context, flagValue string, internal []netip.Prefix) (*duckdb.Store, error) {
	return duckdb.Open(ctx, duckdb.Config{Dir: dataDir(flagValue), InternalCIDRs: internal})
}

// storeFlag adds --store to a verb's flags.
func storeFlag(fs *flag.FlagSet) *string {
	return fs.String("store", "", "store URL: clickhouse://host:port[,host:port…]/db?cluster=NAME for a ClickHouse cluster (env FLOWHUNT_STORE; default: the embedded store in the data directory)")
}

// storeURL returns the store URL: the flag's value, else FLOWHUNT_STORE;
// empty selects the embedded store.
func storeURL(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv("FLOWHUNT_STORE")
}

// openStore opens the store a verb works on: the ClickHouse cluster of a
// clickhouse:// store URL, else the embedded store of the data directory.
// The data directory keeps the findings file (analyst status) either way.
func openStore(ctx context.Context, storeFlagValue, dataFlagValue string, internal []netip.Prefix) (store.Backend, error) {
	u := storeURL(storeFlagValue)
	switch {
	case u == "":
		return openDataStore(ctx, dataFlagValue, internal)
	case clickhouse.IsURL(u):
		return clickhouse.Open(ctx, clickhouse.Config{URL: u, InternalCIDRs: internal})
	}
	return nil, fmt.Errorf("%w: cannot open store %q: want clickhouse://host:port/db?cluster=NAME (--store or FLOWHUNT_STORE), or neither for the embedded store in --data", errUsage, cutFlag(u, 80))
}

// embeddedOnly refuses a ClickHouse store for verbs that only work on the
// embedded store.
func embeddedOnly(verb, storeFlagValue string) error {
	if u := storeURL(storeFlagValue); u != "" {
		return fmt.Errorf("%w: flowhunt %s works on the embedded store only; unset --store / FLOWHUNT_STORE (%q)", errUsage, verb, cutFlag(u, 80))
	}
	return nil
}

// readerOptions are the options every verb's reader takes: the query
// engine's DuckDB macros (ignored by ClickHouse, which has the functions).
func readerOptions(from, to time.Time) store.ReaderOptions {
	return store.ReaderOptions{From: from, To: to, Setup: query.DuckDBSetup()}
}

func cutFlag(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// parseAgeFlag parses a duration that may be given in days: "90d", "24h", "1h30m".
func parseAgeFlag(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("cannot parse duration %q: want a number of days like 90d", s)
		}
		return time.Duration(n * 24 * float64(time.Hour)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("cannot parse duration %q: want 90d, 24h or 30m", s)
	}
	return v, nil
}

// parseTimeFlag parses an RFC 3339 time or a date (YYYY-MM-DD, UTC).
func parseTimeFlag(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse time %q: want RFC 3339 (2026-11-01T00:00:00Z) or a date (2026-11-01)", s)
}

// parseCIDRList parses a comma-separated list of prefixes.
func parseCIDRList(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("cannot parse CIDR %q: %w", f, err)
		}
		out = append(out, p)
	}
	return out, nil
}
