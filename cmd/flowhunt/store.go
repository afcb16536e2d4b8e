package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

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
