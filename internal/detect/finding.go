// Package detect is flowhunt's hunting engine: a registry of explainable
// detectors that push their aggregation down to the store as SQL and score
// the aggregated rows in Go, baselines learned from the data, connection
// stitching, user rules, and the findings they produce with their exports.
package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Severity ranks a finding. The zero value is Info.
type Severity int8

// Severities in increasing order.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int8(s))
	}
	return severityNames[s]
}

// ParseSeverity parses a severity name (case-insensitive).
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return Info, fmt.Errorf("cannot parse severity %q: want info, low, medium, high or critical", cut(s, 40))
}

// MarshalText encodes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Status is where an analyst is with a finding.
type Status string

// Statuses an analyst can set.
const (
	StatusOpen          Status = "open"
	StatusAcknowledged  Status = "acknowledged"
	StatusFalsePositive Status = "false_positive"
	StatusResolved      Status = "resolved"
)

// ParseStatus parses a status; "false-positive" is accepted for false_positive.
func ParseStatus(s string) (Status, error) {
	switch st := Status(strings.ReplaceAll(strings.ToLower(s), "-", "_")); st {
	case StatusOpen, StatusAcknowledged, StatusFalsePositive, StatusResolved:
		return st, nil
	}
	return "", fmt.Errorf("cannot parse status %q: want open, acknowledged, false_positive or resolved", cut(s, 40))
}

// Entity kinds.
const (
	EntityIP       = "ip"
	EntityENI      = "eni"
	EntityInstance = "instance"
	EntitySubnet   = "subnet"
	EntityVPC      = "vpc"
	EntityAccount  = "account"
)

// Entity is what a finding is about: the actor (or, for victim-centred
// detections such as floods, the target).
type Entity struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// Finding is one detection result, explainable on its own: it carries the
// evidence and a SQL query that returns the flows behind it.
type Finding struct {
	ID           string         `json:"id"`
	Detector     string         `json:"detector"`
	Title        string         `json:"title"`
	Description  string         `json:"description,omitempty"`
	Severity     Severity       `json:"severity"`
	Score        float64        `json:"score"` // 0..100, ranks findings of any detector
	MITRE        []string       `json:"mitre"`
	Entity       Entity         `json:"entity"`
	Counterparts []string       `json:"counterparts,omitempty"`
	Ports        []int          `json:"ports,omitempty"`
	FirstSeen    time.Time      `json:"first_seen"`
	LastSeen     time.Time      `json:"last_seen"`
	Evidence     map[string]any `json:"evidence,omitempty"`
	SQL          string         `json:"sql"`
	Links        []string       `json:"links,omitempty"`
	Status       Status         `json:"status"`
	// Suppressed holds the allowlist reason when an allowlist entry matched;
	// such findings are kept (and shown on request) instead of being dropped.
	Suppressed string    `json:"suppressed,omitempty"`
	Created    time.Time `json:"created,omitzero"`
	Updated    time.Time `json:"updated,omitzero"`
	// Key distinguishes findings of one detector about one entity in one
	// window (for example the target of a per-pair detection).
	Key string `json:"key,omitempty"`
}

// StableID is the id of a finding: the same detector, entity, key and day
// of first activity always give the same id, so a re-run updates a finding
// instead of duplicating it.
func StableID(detector string, e Entity, key string, firstSeen time.Time) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s", detector, e.Kind, e.Value, key, firstSeen.UTC().Format("2006-01-02"))
	return "fh-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// finish fills the derived parts of a finding: id, status, sorted lists.
func (f *Finding) finish() {
	if f.ID == "" {
		f.ID = StableID(f.Detector, f.Entity, f.Key, f.FirstSeen)
	}
	if f.Status == "" {
		f.Status = StatusOpen
	}
	f.FirstSeen = f.FirstSeen.UTC()
	f.LastSeen = f.LastSeen.UTC()
	sort.Strings(f.Counterparts)
	f.Counterparts = compactStrings(f.Counterparts)
	sort.Ints(f.Ports)
	f.Ports = compactInts(f.Ports)
	if f.Score < 0 {
		f.Score = 0
	}
	if f.Score > 100 {
		f.Score = 100
	}
	f.Score = float64(int(f.Score*10+0.5)) / 10
}

// SortFindings orders findings by severity, then score, then id.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := &fs[i], &fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		return a.ID < b.ID
	})
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if v == "" || (i > 0 && v == s[i-1]) {
			continue
		}
		out = append(out, v)
	}
	return out
}

func compactInts(s []int) []int {
	out := s[:0]
	for i, v := range s {
		if i > 0 && v == s[i-1] {
			continue
		}
		out = append(out, v)
	}
	return out
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
