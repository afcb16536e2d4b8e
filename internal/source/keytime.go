// Package source lists and opens the objects flow logs are delivered in:
// local files and directory trees, and S3 buckets through the AWS SDK. It
// understands AWS's key layouts (default, hourly, Hive-compatible, with or
// without a prefix) so that a time range prunes objects from their keys
// alone, before anything is downloaded.
package source

import (
	"strings"
	"time"
)

// Slack widens the time window a key names. The name's timestamp bounds the
// records' end times ([T, T+5m) for an object); a record starts up to one
// aggregation interval (10 minutes) earlier, and delivery folders follow the
// delivery time, so a key matches a range if its window widened by Slack
// overlaps it.
const Slack = 15 * time.Minute

// TimeRange selects objects by the time their key names. A zero From or To
// leaves that side open.
type TimeRange struct {
	From, To time.Time
}

// IsZero reports whether the range selects everything.
func (r TimeRange) IsZero() bool { return r.From.IsZero() && r.To.IsZero() }

// overlaps reports whether [start, start+span) widened by Slack meets the range.
func (r TimeRange) overlaps(start time.Time, span time.Duration) bool {
	if !r.To.IsZero() && !start.Add(-Slack).Before(r.To) {
		return false
	}
	if !r.From.IsZero() && !start.Add(span+Slack).After(r.From) {
		return false
	}
	return true
}

// Match reports whether an object with the given key may hold records in the
// range. Keys that name no time always match.
func (r TimeRange) Match(key string) bool {
	if r.IsZero() {
		return true
	}
	start, span, ok := KeyTime(key)
	if !ok {
		return true
	}
	return r.overlaps(start, span)
}

// KeyTime returns the time window a key (or a folder of keys) names: the
// file name's YYYYMMDDTHHmmZ stamp (5 minutes), else the deepest of the
// folders yyyy/mm/dd/HH after "vpcflowlogs/<region>/" or year=/month=/day=/
// hour= (Hive layout). ok is false when the key names no time.
func KeyTime(key string) (start time.Time, span time.Duration, ok bool) {
	key = strings.TrimSuffix(key, "/")
	base := key
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		base = key[i+1:]
	}
	if t, ok := nameStamp(base); ok {
		return t, 5 * time.Minute, true
	}
	parts := strings.Split(key, "/")
	var ymdh [4]int
	n := 0
	// Hive-compatible partitions.
	for _, p := range parts {
		for i, name := range [4]string{"year=", "month=", "day=", "hour="} {
			if v, ok := strings.CutPrefix(p, name); ok && i == n {
				d, ok := digits(v, width(i))
				if !ok {
					return time.Time{}, 0, false
				}
				ymdh[n] = d
				n++
			}
		}
	}
	if n == 0 {
		// Default layout: …/vpcflowlogs/<region>/yyyy/mm/dd/[HH/]
		for i, p := range parts {
			if p != "vpcflowlogs" || i+2 >= len(parts) {
				continue
			}
			for _, q := range parts[i+2:] {
				d, ok := digits(q, width(n))
				if !ok || n == 4 {
					break
				}
				ymdh[n] = d
				n++
			}
			break
		}
	}
	if n == 0 {
		return time.Time{}, 0, false
	}
	if n >= 2 && (ymdh[1] < 1 || ymdh[1] > 12) || n >= 3 && (ymdh[2] < 1 || ymdh[2] > 31) || n == 4 && ymdh[3] > 23 {
		return time.Time{}, 0, false
	}
	switch n {
	case 1:
		t := time.Date(ymdh[0], 1, 1, 0, 0, 0, 0, time.UTC)
		return t, t.AddDate(1, 0, 0).Sub(t), true
	case 2:
		t := time.Date(ymdh[0], time.Month(ymdh[1]), 1, 0, 0, 0, 0, time.UTC)
		return t, t.AddDate(0, 1, 0).Sub(t), true
	case 3:
		return time.Date(ymdh[0], time.Month(ymdh[1]), ymdh[2], 0, 0, 0, 0, time.UTC), 24 * time.Hour, true
	default:
		return time.Date(ymdh[0], time.Month(ymdh[1]), ymdh[2], ymdh[3], 0, 0, 0, time.UTC), time.Hour, true
	}
}

// nameStamp finds "_YYYYMMDDTHHmmZ_" in an AWS object name.
func nameStamp(base string) (time.Time, bool) {
	for i := 0; i+15 <= len(base); i++ {
		j := strings.IndexByte(base[i:], 'T')
		if j < 0 {
			return time.Time{}, false
		}
		i += j
		if i < 8 || i+6 > len(base) || base[i+5] != 'Z' || (i > 8 && base[i-9] != '_') {
			continue
		}
		t, err := time.Parse("20060102T1504Z", base[i-8:i+6])
		if err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func digits(s string, n int) (int, bool) {
	if len(s) != n {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

// width is the number of digits of date part i (year, month, day, hour).
func width(i int) int {
	if i == 0 {
		return 4
	}
	return 2
}
