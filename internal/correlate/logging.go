package correlate

import (
	"context"
	"fmt"
	"math/big"
	"net/netip"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/store"
)

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	case float64:
		return int64(x)
	case *big.Int:
		return x.Int64()
	case time.Time:
		return x.Unix()
	}
	return 0
}

// bucket is the resolution of gap detection: S3 delivery writes 5-minute objects.
const bucket = 300

// loggingFindings reports DeleteFlowLogs calls (with the silence that
// followed and the CreateFlowLogs that ended it) and silences in the flow
// logs that no event explains.
func loggingFindings(ctx context.Context, q store.Querier, events []Event, cfg *Config) ([]detect.Finding, error) {
	rows, err := q.Query(ctx, `SELECT CAST(start / 300 AS BIGINT) AS b, count(*) FROM vpc_flow_logs WHERE start IS NOT NULL GROUP BY 1 ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("cannot query flow log coverage: %w", err)
	}
	var buckets []int64
	for rows.Next() {
		var b, n any
		if err := rows.Scan(&b, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cannot read flow log coverage: %w", err)
		}
		buckets = append(buckets, toInt(b))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read flow log coverage: %w", err)
	}
	type gap struct{ from, to time.Time }
	var gaps []gap
	for i := 1; i < len(buckets); i++ {
		if d := time.Duration(buckets[i]-buckets[i-1]-1) * bucket * time.Second; d >= cfg.GapMin {
			gaps = append(gaps, gap{time.Unix((buckets[i-1]+1)*bucket, 0).UTC(), time.Unix(buckets[i]*bucket, 0).UTC()})
		}
	}
	var skip int64
	if r, err := q.Query(ctx, `SELECT count(*) FROM vpc_flow_logs WHERE log_status = 'SKIPDATA'`); err == nil {
		for r.Next() {
			var n any
			if r.Scan(&n) == nil {
				skip = toInt(n)
			}
		}
		r.Close()
	}

	var out []detect.Finding
	explained := make([]bool, len(gaps))
	for i := range events {
		e := &events[i]
		if e.EventName != "DeleteFlowLogs" || !e.Succeeded() {
			continue
		}
		at := e.EventTime.UTC()
		ev := map[string]any{
			"cloudtrail_event_id": e.EventID, "changed_by": e.UserIdentity.ARN, "changed_from_ip": e.SourceIP,
			"flow_log_ids": flowLogIDs(e),
		}
		links := []string{"cloudtrail:" + e.EventID}
		last := at
		for gi, g := range gaps {
			if !at.Before(g.from.Add(-cfg.Skew)) && at.Before(g.to) {
				explained[gi] = true
				ev["gap_from"], ev["gap_to"] = g.from.Format(time.RFC3339), g.to.Format(time.RFC3339)
				ev["gap_minutes"] = int64(g.to.Sub(g.from) / time.Minute)
				last = g.to
			}
		}
		for j := range events {
			c := &events[j]
			if c.EventName == "CreateFlowLogs" && c.Succeeded() && c.EventTime.After(at) {
				ev["recreated_by_event_id"] = c.EventID
				ev["recreated_at"] = c.EventTime.UTC().Format(time.RFC3339)
				links = append(links, "cloudtrail:"+c.EventID)
				if c.EventTime.After(last) {
					last = c.EventTime.UTC()
				}
				break
			}
		}
		title := "Flow logs deleted (DeleteFlowLogs) by " + orDash(e.UserIdentity.ARN)
		if m, ok := ev["gap_minutes"]; ok {
			title += fmt.Sprintf("; no flow records for %d minutes", m)
		}
		f := detect.Finding{Detector: DetFlowLogDeleted, Title: title,
			Description: "Deleting flow logs blinds network monitoring; an attacker does it before acting.",
			Severity:    detect.High, Score: 85, MITRE: []string{"T1562.008"},
			Entity:    detect.Entity{Kind: detect.EntityAccount, Value: orDash(e.Account)},
			FirstSeen: at, LastSeen: last, Evidence: ev, Links: links, Status: detect.StatusOpen, Key: e.EventID,
			SQL: fmt.Sprintf("SELECT CAST(start / 300 AS BIGINT) * 300 AS bucket, count(*) AS records FROM vpc_flow_logs\nWHERE start BETWEEN %d AND %d GROUP BY 1 ORDER BY 1", at.Add(-time.Hour).Unix(), last.Add(time.Hour).Unix())}
		f.ID = detect.StableID(f.Detector, f.Entity, f.Key, f.FirstSeen)
		out = append(out, f)
	}
	for gi, g := range gaps {
		if explained[gi] {
			continue
		}
		f := detect.Finding{Detector: DetLogGap,
			Title:       fmt.Sprintf("No flow records for %d minutes (%s to %s)", int64(g.to.Sub(g.from)/time.Minute), g.from.Format(time.RFC3339), g.to.Format(time.RFC3339)),
			Description: "A silence in otherwise continuous flow logs: delivery failure, a disabled flow log, or tampering.",
			Severity:    detect.Medium, Score: 45, MITRE: []string{"T1562.008"},
			Entity:    detect.Entity{Kind: detect.EntityAccount, Value: "-"},
			FirstSeen: g.from, LastSeen: g.to, Status: detect.StatusOpen,
			Evidence: map[string]any{"gap_minutes": int64(g.to.Sub(g.from) / time.Minute), "skipdata_records": skip},
			SQL:      fmt.Sprintf("SELECT CAST(start / 300 AS BIGINT) * 300 AS bucket, count(*) AS records FROM vpc_flow_logs\nWHERE start BETWEEN %d AND %d GROUP BY 1 ORDER BY 1", g.from.Add(-time.Hour).Unix(), g.to.Add(time.Hour).Unix())}
		f.ID = detect.StableID(f.Detector, f.Entity, g.from.Format(time.RFC3339), f.FirstSeen)
		out = append(out, f)
	}
	return out, nil
}

func flowLogIDs(e *Event) []string {
	// requestParameters.DeleteFlowLogsRequest.FlowLogId.content is a string or a list.
	s := string(e.RequestParameters)
	var ids []string
	for {
		i := strings.Index(s, "fl-")
		if i < 0 {
			break
		}
		j := i + 3
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] >= 'a' && s[j] <= 'f') {
			j++
		}
		ids = append(ids, s[i:j])
		s = s[j:]
	}
	return ids
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// guardDutyFindings joins each GuardDuty finding to its flows (ENI, remote
// IP, time) and to flowhunt's findings on the same addresses and time.
func guardDutyFindings(ctx context.Context, q store.Querier, gds []GuardDutyFinding, own []detect.Finding, cfg *Config) ([]detect.Finding, []detect.Finding, error) {
	var out, corr []detect.Finding
	boosted := map[string]int{}
	for i := range gds {
		g := &gds[i]
		if g.Archived {
			continue
		}
		from, to := g.FirstSeen, g.LastSeen
		if from.IsZero() {
			from = g.Created
		}
		if to.IsZero() {
			to = g.Updated
		}
		if to.Before(from) {
			to = from
		}
		from, to = from.Add(-cfg.Skew), to.Add(cfg.Skew)
		var cond []string
		var args []any
		if g.ENI != "" {
			cond, args = append(cond, "interface_id = ?"), append(args, g.ENI)
		} else if g.LocalIP != "" {
			cond, args = append(cond, "(srcaddr = ? OR dstaddr = ?)"), append(args, g.LocalIP, g.LocalIP)
		}
		if g.RemoteIP != "" {
			cond, args = append(cond, "(srcaddr = ? OR dstaddr = ?)"), append(args, g.RemoteIP, g.RemoteIP)
		}
		var records, flowBytes int64
		var rejected int64
		if len(cond) > 0 {
			args = append(args, from.Unix(), to.Unix())
			r, err := q.Query(ctx, `SELECT count(*), CAST(coalesce(sum(bytes), 0) AS BIGINT), count(*) FILTER (WHERE action = 'REJECT')
FROM vpc_flow_logs WHERE `+strings.Join(cond, " AND ")+` AND start >= ? AND start <= ?`, args...)
			if err != nil {
				return nil, nil, fmt.Errorf("cannot query flows of guardduty finding %s: %w", g.ID, err)
			}
			for r.Next() {
				var a, b, c any
				if err := r.Scan(&a, &b, &c); err != nil {
					r.Close()
					return nil, nil, fmt.Errorf("cannot read flows of guardduty finding %s: %w", g.ID, err)
				}
				records, flowBytes, rejected = toInt(a), toInt(b), toInt(c)
			}
			r.Close()
		}
		entity := g.LocalIP
		if entity == "" {
			entity = g.RemoteIP
		}
		sev := detect.Low
		switch {
		case g.Severity >= 9:
			sev = detect.Critical
		case g.Severity >= 7:
			sev = detect.High
		case g.Severity >= 4:
			sev = detect.Medium
		}
		f := detect.Finding{Detector: DetGuardDuty, Title: "GuardDuty " + g.Type + ": " + g.Title,
			Severity: sev, Score: g.Severity * 10,
			Entity:    detect.Entity{Kind: detect.EntityIP, Value: orDash(entity)},
			FirstSeen: g.FirstSeen, LastSeen: g.LastSeen, Status: detect.StatusOpen, Key: g.ID,
			Links: []string{"guardduty:" + g.ID},
			Evidence: map[string]any{"guardduty_id": g.ID, "type": g.Type, "resource_role": g.ResourceRole,
				"instance_id": g.InstanceID, "eni": g.ENI, "remote_ip": g.RemoteIP, "remote_country": g.RemoteCountry,
				"remote_org": g.RemoteOrg, "flow_records": records, "flow_bytes": flowBytes, "rejected_records": rejected},
		}
		if g.RemoteIP != "" {
			f.Counterparts = []string{g.RemoteIP}
		}
		if g.LocalPort > 0 {
			f.Ports = []int{g.LocalPort}
		}
		if len(cond) > 0 {
			f.SQL = fmt.Sprintf("SELECT * FROM vpc_flow_logs WHERE %s AND start BETWEEN %d AND %d ORDER BY start LIMIT 100",
				sqlInline(strings.Join(cond, " AND "), args[:len(args)-2]), from.Unix(), to.Unix())
		}
		if records == 0 {
			f.Evidence["note"] = "no matching flow records in the store"
		}
		// Corroborate flowhunt's findings on the same addresses and time.
		for j := range own {
			o := &own[j]
			if !overlaps(o.FirstSeen, o.LastSeen, from, to) || !sharesAddr(o, g) {
				continue
			}
			f.Links = append(f.Links, "finding:"+o.ID)
			k, seen := boosted[o.ID]
			if !seen {
				c := *o
				c.Links = append(append([]string{}, o.Links...), "guardduty:"+g.ID)
				c.Score = min(100, c.Score+cfg.BoostScore)
				c.Evidence = copyMap(o.Evidence)
				c.Evidence["guardduty_agrees"] = g.Type
				corr = append(corr, c)
				boosted[o.ID] = len(corr) - 1
			} else {
				corr[k].Links = append(corr[k].Links, "guardduty:"+g.ID)
			}
		}
		if len(f.Links) > 1 {
			f.Score = min(100, f.Score+cfg.BoostScore)
			f.Evidence["flowhunt_agrees"] = len(f.Links) - 1
		}
		f.ID = detect.StableID(f.Detector, f.Entity, f.Key, f.FirstSeen)
		out = append(out, f)
	}
	return out, corr, nil
}

func sqlInline(cond string, args []any) string {
	for _, a := range args {
		cond = strings.Replace(cond, "?", quote(fmt.Sprint(a)), 1)
	}
	return cond
}

func overlaps(a0, a1, b0, b1 time.Time) bool {
	if a1.IsZero() {
		a1 = a0
	}
	return !a0.After(b1) && !a1.Before(b0)
}

func sharesAddr(o *detect.Finding, g *GuardDutyFinding) bool {
	addrs := map[string]bool{}
	for _, s := range []string{g.LocalIP, g.RemoteIP, g.ENI, g.InstanceID} {
		if s != "" {
			addrs[s] = true
		}
	}
	if addrs[o.Entity.Value] {
		for _, c := range o.Counterparts {
			if addrs[c] {
				return true
			}
		}
		// A finding about the remote actor itself agrees with GuardDuty on it.
		if o.Entity.Value == g.RemoteIP {
			return true
		}
		if _, err := netip.ParseAddr(o.Entity.Value); err == nil && g.RemoteIP == "" {
			return true
		}
	}
	return false
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
