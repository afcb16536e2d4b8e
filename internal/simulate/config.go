// Package simulate generates realistic AWS VPC Flow Logs for one account:
// VPCs, subnets and ENIs with roles, diurnal background traffic as AWS
// records it, labelled attacks and benign look-alikes (truth.json), and the
// side files an investigation needs (inventory, CloudTrail, GuardDuty, intel).
// The demo, detector tests and benchmarks all draw their data from here.
package simulate

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Config selects what Generate writes. The zero value of every field means
// its default; Validate fills the defaults in.
type Config struct {
	Seed     uint64        // same seed and config => byte-identical output
	Start    time.Time     // first 5-minute slot (truncated to 5 minutes, UTC); default 2026-11-01T00:00:00Z
	Duration time.Duration // simulated span; default 48h; at least 1h
	Scale    float64       // multiplies hosts and traffic; default 1 (about 1-2 M records over 2 days)

	AccountID string // default "493812776102"
	Region    string // default "us-east-1"

	// FormatsSlice is the span written again in the other delivery formats
	// (CloudWatch, Firehose, Parquet, S3 Hive layout); default 30m, 0 after
	// Validate only when NoFormats is set.
	FormatsSlice time.Duration
	NoFormats    bool // skip DIR/formats entirely (faster tests, benchmarks)
	NoSideFiles  bool // skip inventory, CloudTrail, GuardDuty and intel files

	Workers int // parallel object writers; default runtime.GOMAXPROCS(0)
}

// DefaultStart is the default first instant of the simulation.
var DefaultStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// ErrConfig is returned, wrapped, for a Config that cannot be used.
var ErrConfig = errors.New("invalid simulator config")

// DefaultConfig returns the configuration of `flowhunt generate` without flags.
func DefaultConfig() Config {
	c := Config{Seed: 1}
	_ = c.Validate()
	return c
}

// Validate fills in defaults and checks the values.
func (c *Config) Validate() error {
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	c.Start = c.Start.UTC().Truncate(slotSeconds * time.Second)
	if c.Duration == 0 {
		c.Duration = 48 * time.Hour
	}
	if c.Duration < time.Hour || c.Duration > 60*24*time.Hour {
		return fmt.Errorf("%w: duration %s out of range [1h, 60d] (set --days)", ErrConfig, c.Duration)
	}
	c.Duration = c.Duration.Truncate(slotSeconds * time.Second)
	if c.Scale == 0 {
		c.Scale = 1
	}
	if c.Scale < 0.01 || c.Scale > 1000 {
		return fmt.Errorf("%w: scale %g out of range [0.01, 1000] (set --scale)", ErrConfig, c.Scale)
	}
	if c.AccountID == "" {
		c.AccountID = "493812776102"
	}
	if len(c.AccountID) != 12 {
		return fmt.Errorf("%w: account id %q is not 12 digits", ErrConfig, c.AccountID)
	}
	for _, ch := range c.AccountID {
		if ch < '0' || ch > '9' {
			return fmt.Errorf("%w: account id %q is not 12 digits", ErrConfig, c.AccountID)
		}
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.FormatsSlice == 0 && !c.NoFormats {
		c.FormatsSlice = 30 * time.Minute
	}
	if c.FormatsSlice < 0 || c.FormatsSlice > c.Duration {
		return fmt.Errorf("%w: formats slice %s longer than the duration %s", ErrConfig, c.FormatsSlice, c.Duration)
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return nil
}

// End returns the first instant after the simulated span.
func (c *Config) End() time.Time { return c.Start.Add(c.Duration) }
