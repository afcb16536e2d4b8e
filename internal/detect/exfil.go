package detect

import (
	"context"
	"fmt"
	"math"
	"sort"
)

func init() {
	Register(&builtin{
		name:  "exfiltration",
		desc:  "Data leaving to a new destination: an upload-heavy volume spike (bulk) or a steady trickle over hours (low and slow), both only to destinations absent from the baseline and not repeating on a daily schedule (backups). Volume alone is not enough (mission use case 2).",
		mitre: []string{"T1041", "T1048", "T1030", "T1567"},
		params: []Param{
			p("min_bytes", 100e6, "bytes sent to one destination for a bulk transfer"),
			p("min_low_slow_bytes", 5e6, "bytes sent over hours for low-and-slow exfiltration"),
			p("min_low_slow_hours", 3.0, "active hours for low-and-slow exfiltration"),
			p("min_upload_ratio", 5.0, "bytes sent / bytes received"),
			p("max_prevalence", 2.0, "destinations used by more internal hosts than this are shared services"),
		},
		sev: High,
		run: runExfil,
	})
}

func runExfil(ctx context.Context, env *Env) ([]Finding, error) {
	// Each pair's sent and received bytes, over baseline and window, from
	// the internal side's egress and ingress records.
	sql := `SELECT CASE WHEN direction = 'outbound' THEN srcaddr ELSE dstaddr END AS host,
  CASE WHEN direction = 'outbound' THEN dstaddr ELSE srcaddr END AS peer,
  CAST(sum(CASE WHEN direction = 'outbound' AND start >= ? AND ` + initiated + ` THEN bytes ELSE 0 END) AS DOUBLE) AS sent,
  CAST(sum(CASE WHEN direction = 'inbound' AND start >= ? AND NOT ` + initiated + ` THEN bytes ELSE 0 END) AS DOUBLE) AS received,
  min(start), max("end"),
  count(DISTINCT CASE WHEN direction = 'outbound' AND start >= ? THEN CAST(floor(start / 3600) AS BIGINT) END) AS hours,
  count(DISTINCT CAST(floor(start / 86400) AS BIGINT)) AS days,
  min(CASE WHEN direction = 'outbound' AND start >= ? THEN start END),
  max(CASE WHEN direction = 'outbound' AND start >= ? THEN "end" END),
  min(dstport)
FROM vpc_flow_logs WHERE ` + inWindow + ` AND ` + okData + ` AND action = 'ACCEPT' AND direction IN ('outbound', 'inbound')
  AND (flow_direction IS NULL OR (direction = 'outbound' AND flow_direction = 'egress') OR (direction = 'inbound' AND flow_direction = 'ingress'))
GROUP BY CASE WHEN direction = 'outbound' THEN srcaddr ELSE dstaddr END, CASE WHEN direction = 'outbound' THEN dstaddr ELSE srcaddr END
HAVING sum(CASE WHEN direction = 'outbound' AND start >= ? AND ` + initiated + ` THEN bytes ELSE 0 END) >= ?`
	from := env.From.Unix()
	minLS := math.Min(env.Float("min_low_slow_bytes"), env.Float("min_bytes"))
	type cand struct {
		host, peer          string
		sent, recv          float64
		first, hours, days  int64
		wFirst, wLast, port int64
	}
	var cands []cand
	peerHosts := map[string]int{}
	err := query(ctx, env.Q, "exfiltration", sql, []any{from, from, from, from, from, env.DataFrom.Unix(), env.To.Unix(), from, int64(minLS)}, func(r row) error {
		c := cand{r.Str(0), r.Str(1), r.Float(2), r.Float(3), r.Int(4), r.Int(6), r.Int(7), r.Int(8), r.Int(9), r.Int(10)}
		cands = append(cands, c)
		peerHosts[c.peer]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, c := range cands {
		if c.sent < c.recv*env.Float("min_upload_ratio") {
			continue // downloads and chatty APIs receive as much as they send
		}
		if peerHosts[c.peer] > int(env.Float("max_prevalence")) {
			continue
		}
		novel := env.novel(ts(c.first), env.learnPeriod())
		if !novel {
			continue // a destination the host already used: its usual transfers
		}
		if c.days >= 2 && float64(c.hours) <= float64(c.days)*4 {
			continue // a short transfer repeating every day: a scheduled job
		}
		bulk := c.sent >= env.Float("min_bytes")
		lowSlow := c.sent >= env.Float("min_low_slow_bytes") && float64(c.hours) >= env.Float("min_low_slow_hours")
		if !bulk && !lowSlow {
			continue
		}
		first, last := ts(c.wFirst), ts(c.wLast)
		f := Finding{
			Severity:     High,
			Score:        logScore(c.sent, minLS, 100e9),
			MITRE:        []string{"T1041", "T1048"},
			Entity:       Entity{EntityIP, c.host},
			Key:          c.peer,
			Counterparts: []string{c.peer},
			Ports:        []int{int(c.port)},
			FirstSeen:    first, LastSeen: last,
			Evidence: map[string]any{
				"bytes_sent": int64(c.sent), "bytes_received": int64(c.recv), "active_hours": c.hours,
				"destination_first_seen": ts(c.first).Format("2006-01-02T15:04:05Z"), "new_destination": true,
			},
			SQL: evidenceSQL(first, last, eq("srcaddr", c.host), eq("dstaddr", c.peer)),
		}
		if bulk && float64(c.hours) < env.Float("min_low_slow_hours") {
			f.Title = fmt.Sprintf("exfiltration: %s sent %s to new destination %s", c.host, humanBytes(c.sent), c.peer)
		} else {
			f.Title = fmt.Sprintf("low-and-slow exfiltration: %s sent %s to new destination %s over %d hours", c.host, humanBytes(c.sent), c.peer, c.hours)
			f.MITRE = append(f.MITRE, "T1030")
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out, nil
}

func humanBytes(b float64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.1f GB", b/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.1f MB", b/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.1f kB", b/1e3)
	}
	return fmt.Sprintf("%.0f B", b)
}
