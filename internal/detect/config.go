package detect

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/goccy/go-yaml"
)

// Config is a hunt's configuration: one YAML file.
type Config struct {
	// InternalCIDRs are the organisation's networks. Empty means RFC 1918,
	// RFC 6598 and fc00::/7.
	InternalCIDRs []string `yaml:"internal_cidrs"`
	// BaselineDays is how far before the hunt window baselines look back.
	BaselineDays int `yaml:"baseline_days"`
	// IntelFiles are threat-intel lists (one IP or CIDR per line, # comments);
	// main reads them into Intel.
	IntelFiles []string `yaml:"intel_files"`
	// RuleFiles are user rule files or directories (see Rule).
	RuleFiles []string                  `yaml:"rules"`
	Detectors map[string]DetectorConfig `yaml:"detectors"`
	Allowlist []AllowEntry              `yaml:"allowlist"`

	// Set by the caller, not the YAML file.
	From, To    time.Time `yaml:"-"`
	Only        []string  `yaml:"-"` // run only these detectors (and rules)
	MinSeverity Severity  `yaml:"-"`
	Intel       *IntelSet `yaml:"-"`
	Rules       []*Rule   `yaml:"-"`
	// Parallel is how many detectors run at once; default 2.
	Parallel int `yaml:"-"`
	// PassRecords bounds the records one pass of a grouped DISTINCT
	// aggregate covers (brute_force, dos_inbound, the port scans): with more records in the
	// store, such a query runs in passes over parts of its groups, since
	// DuckDB cannot spill that aggregate. 0 runs it in one pass.
	PassRecords int64 `yaml:"-"`
	// Observe, when set, is called as each detector or rule finishes
	// (one call at a time), with what it cost: flowhunt hunt --profile.
	Observe func(DetectorRun) `yaml:"-"`
}

// DetectorConfig overrides a detector's defaults.
type DetectorConfig struct {
	Enabled  *bool          `yaml:"enabled"`
	Severity string         `yaml:"severity"` // replaces the detector's severity floor when set
	Params   map[string]any `yaml:"params"`
}

// AllowEntry suppresses matching findings with a recorded reason. Every set
// part must match: a finding matches CIDRs when its entity or any
// counterpart is inside one, Ports when any of its ports is listed,
// Detectors when its detector is listed.
type AllowEntry struct {
	CIDRs     []string `yaml:"cidrs"`
	Ports     []int    `yaml:"ports"`
	Detectors []string `yaml:"detectors"`
	Reason    string   `yaml:"reason"`

	prefixes []netip.Prefix
}

// DefaultInternal are the networks assumed internal when none are configured.
var DefaultInternal = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("fc00::/7"),
}

// ParseConfig decodes a YAML configuration; name is used in errors.
func ParseConfig(data []byte, name string) (*Config, error) {
	var c Config
	if err := yaml.UnmarshalWithOptions(data, &c, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("cannot parse config %s: %w", name, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("cannot load config %s: %w", name, err)
	}
	return &c, nil
}

// Validate checks the configuration and fills defaults.
func (c *Config) Validate() error {
	if c.BaselineDays == 0 {
		c.BaselineDays = 7
	}
	if c.BaselineDays < 0 {
		return fmt.Errorf("cannot use baseline_days %d: must be positive", c.BaselineDays)
	}
	if c.Parallel <= 0 {
		c.Parallel = 2
	}
	for _, s := range c.InternalCIDRs {
		if _, err := parsePrefix(s); err != nil {
			return fmt.Errorf("cannot use internal_cidrs entry: %w", err)
		}
	}
	for name, dc := range c.Detectors {
		if _, ok := Lookup(name); !ok && !c.hasRule(name) {
			return fmt.Errorf("cannot configure detector %q: no such detector (see flowhunt rules list)", name)
		}
		if dc.Severity != "" {
			if _, err := ParseSeverity(dc.Severity); err != nil {
				return fmt.Errorf("cannot configure detector %s: %w", name, err)
			}
		}
		if d, ok := Lookup(name); ok {
			if _, err := resolveParams(d, c); err != nil {
				return err
			}
		}
	}
	for i := range c.Allowlist {
		a := &c.Allowlist[i]
		if a.Reason == "" {
			return fmt.Errorf("cannot use allowlist entry %d: reason is required", i+1)
		}
		if len(a.CIDRs) == 0 && len(a.Ports) == 0 && len(a.Detectors) == 0 {
			return fmt.Errorf("cannot use allowlist entry %d (%q): it matches everything; set cidrs, ports or detectors", i+1, cut(a.Reason, 40))
		}
		a.prefixes = a.prefixes[:0]
		for _, s := range a.CIDRs {
			p, err := parsePrefix(s)
			if err != nil {
				return fmt.Errorf("cannot use allowlist entry %d: %w", i+1, err)
			}
			a.prefixes = append(a.prefixes, p)
		}
	}
	if !c.From.IsZero() && !c.To.IsZero() && !c.To.After(c.From) {
		return fmt.Errorf("cannot hunt from %s to %s: the end must be after the start", c.From.Format(time.RFC3339), c.To.Format(time.RFC3339))
	}
	return nil
}

func (c *Config) hasRule(name string) bool {
	for _, r := range c.Rules {
		if r.Name == name {
			return true
		}
	}
	return false
}

// Internal returns the internal networks as prefixes.
func (c *Config) Internal() []netip.Prefix {
	if len(c.InternalCIDRs) == 0 {
		return DefaultInternal
	}
	out := make([]netip.Prefix, 0, len(c.InternalCIDRs))
	for _, s := range c.InternalCIDRs {
		p, err := parsePrefix(s)
		if err == nil {
			out = append(out, p)
		}
	}
	return out
}

func (c *Config) enabled(name string) bool {
	if len(c.Only) > 0 && !slices.Contains(c.Only, name) {
		return false
	}
	if dc, ok := c.Detectors[name]; ok && dc.Enabled != nil {
		return *dc.Enabled
	}
	return true
}

// allowed returns the reason of the first allowlist entry matching f.
func (c *Config) allowed(f *Finding) string {
	for i := range c.Allowlist {
		a := &c.Allowlist[i]
		if len(a.Detectors) > 0 && !slices.Contains(a.Detectors, f.Detector) {
			continue
		}
		if len(a.Ports) > 0 && !slices.ContainsFunc(f.Ports, func(p int) bool { return slices.Contains(a.Ports, p) }) {
			continue
		}
		if len(a.prefixes) > 0 && !matchesAny(a.prefixes, f) {
			continue
		}
		return a.Reason
	}
	return ""
}

func matchesAny(ps []netip.Prefix, f *Finding) bool {
	in := func(s string) bool {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		for _, p := range ps {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
	if f.Entity.Kind == EntityIP && in(f.Entity.Value) {
		return true
	}
	return slices.ContainsFunc(f.Counterparts, in)
}

// parsePrefix accepts a CIDR or a bare address.
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("cannot parse CIDR %q: not an address or prefix", cut(s, 60))
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
