package detect

import (
	"context"
	"fmt"
	"slices"
	"sort"
)

func init() {
	Register(&builtin{
		name:  "logging_gap",
		desc:  "Lost visibility: SKIPDATA records (flows dropped), and intervals where ENIs that log steadily fall silent together (a flow log deleted or stopped); NODATA alone is normal for idle ENIs.",
		mitre: []string{"T1562.008", "T1562.001"},
		params: []Param{
			p("bucket_seconds", 600.0, "interval an active ENI is expected to log in"),
			p("min_gap_buckets", 3.0, "missing intervals in a row that make a gap"),
			p("min_coverage", 0.8, "share of intervals an ENI must log in to be expected"),
		},
		sev: Medium,
		run: runGaps,
	})
}

func runGaps(ctx context.Context, env *Env) ([]Finding, error) {
	from, to := env.window()
	var out []Finding
	// SKIPDATA: records lost to capacity limits.
	err := query(ctx, env.Q, "logging_gap", `SELECT interface_id, count(*), min(start), max("end") FROM vpc_flow_logs
WHERE `+inWindow+` AND log_status = 'SKIPDATA' GROUP BY interface_id`, []any{from, to}, func(r row) error {
		eni := r.Str(0)
		first, last := ts(r.Int(2)), ts(r.Int(3))
		out = append(out, Finding{
			Title:     fmt.Sprintf("logging gap: %s skipped records (SKIPDATA) %d times", eni, r.Int(1)),
			Severity:  Low, // capacity limits cause it too; a gap shared by many ENIs is the alarm
			Score:     50,
			MITRE:     []string{"T1562.001"},
			Entity:    Entity{EntityENI, eni},
			Key:       "skipdata",
			FirstSeen: first, LastSeen: last,
			Evidence: map[string]any{"skipdata_records": r.Int(1)},
			SQL:      evidenceSQL(first, last, eq("interface_id", eni), "log_status = 'SKIPDATA'"),
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Silence: per ENI, the intervals with any record.
	bs := max(env.Int("bucket_seconds"), 60)
	buckets := map[string]map[int64]bool{}
	err = query(ctx, env.Q, "logging_gap", `SELECT interface_id, CAST(floor(start / `+fmt.Sprint(bs)+`) AS BIGINT) AS b FROM vpc_flow_logs
WHERE `+inWindow+` GROUP BY interface_id, CAST(floor(start / `+fmt.Sprint(bs)+`) AS BIGINT)`, []any{from, to}, func(r row) error {
		m := buckets[r.Str(0)]
		if m == nil {
			m = map[int64]bool{}
			buckets[r.Str(0)] = m
		}
		m[r.Int(1)] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	type gap struct{ from, to int64 } // buckets [from, to)
	gapENIs := map[gap][]string{}
	minGap := env.Int("min_gap_buckets")
	for eni, m := range buckets {
		lo, hi := int64(1<<62), int64(-1)
		for b := range m {
			lo, hi = min(lo, b), max(hi, b)
		}
		span := hi - lo + 1
		if span < 3*minGap || float64(len(m)) < env.Float("min_coverage")*float64(span) {
			continue // not an ENI that logs steadily
		}
		for b := lo; b <= hi; {
			if m[b] {
				b++
				continue
			}
			e := b
			for e <= hi && !m[e] {
				e++
			}
			if e-b >= minGap {
				g := gap{b, e}
				gapENIs[g] = append(gapENIs[g], eni)
			}
			b = e
		}
	}
	gaps := make([]gap, 0, len(gapENIs))
	for g := range gapENIs {
		gaps = append(gaps, g)
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i].from < gaps[j].from })
	for _, g := range gaps {
		enis := gapENIs[g]
		slices.Sort(enis)
		first, last := ts(g.from*bs), ts(g.to*bs-1)
		f := Finding{
			Severity:  Medium,
			Score:     logScore(float64(len(enis)*int(g.to-g.from)), float64(minGap), 10000),
			MITRE:     []string{"T1562.008"},
			FirstSeen: first, LastSeen: last,
			Evidence: map[string]any{"silent_enis": enis, "minutes": (g.to - g.from) * bs / 60},
			SQL:      evidenceSQL(first.Add(-10*60e9), last.Add(10*60e9), "interface_id IN "+inList(enis)),
		}
		if len(enis) == 1 {
			f.Severity = Low // one ENI going quiet is usually its workload
			f.Entity = Entity{EntityENI, enis[0]}
			f.Title = fmt.Sprintf("logging gap: %s was silent for %d minutes", enis[0], f.Evidence["minutes"])
		} else {
			f.Entity = Entity{EntityAccount, "all-enis"}
			f.Key = fmt.Sprint(len(enis))
			f.Severity = High
			f.Title = fmt.Sprintf("logging gap: %d steadily logging ENIs fell silent together for %d minutes (flow log deleted or stopped?)", len(enis), f.Evidence["minutes"])
			f.Description = "Look for DeleteFlowLogs / CreateFlowLogs in CloudTrail around this interval."
		}
		out = append(out, f)
	}
	return out, nil
}
