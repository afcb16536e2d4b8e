package correlate

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/store"
)

// bucket is the resolution of gap detection: S3 delivery writes 5-minute objects.
const bucket = 300

// span is a half-open interval of 5-minute buckets [from, to).
type span struct{ from, to int64 }

func (g span) start() time.Time { return time.Unix(g.from*bucket, 0).UTC() }
func (g span) end() time.Time   { return time.Unix(g.to*bucket, 0).UTC() }
func (g span) minutes() int64   { return (g.to - g.from) * bucket / 60 }

// eniGap is one interface that logged steadily and then fell silent while
// the rest of the account kept logging.
type eniGap struct {
	eni      string
	gap      span
	trailing bool    // silent until the end of the data
	before   float64 // share of the buckets before the gap the ENI logged in
	records  int64   // records of the ENI in the lookback before the gap
}

// coverage reads, per interface, the 5-minute buckets that hold records,
// and returns them with the account-wide buckets (their union).
func coverage(ctx context.Context, q store.Querier) (map[string][]int64, []int64, map[string]map[int64]int64, error) {
	rows, err := q.Query(ctx, `SELECT interface_id, CAST(floor(start / 300) AS BIGINT) AS b, count(*) FROM vpc_flow_logs
WHERE start IS NOT NULL AND interface_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cannot query flow log coverage: %w", err)
	}
	defer rows.Close()
	per := map[string][]int64{}
	counts := map[string]map[int64]int64{}
	all := map[int64]bool{}
	for rows.Next() {
		var eni string
		var b, n any
		if err := rows.Scan(&eni, &b, &n); err != nil {
			return nil, nil, nil, fmt.Errorf("cannot read flow log coverage: %w", err)
		}
		k := store.Int64(b)
		per[eni] = append(per[eni], k)
		if counts[eni] == nil {
			counts[eni] = map[int64]int64{}
		}
		counts[eni][k] += store.Int64(n)
		all[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("cannot read flow log coverage: %w", err)
	}
	acct := make([]int64, 0, len(all))
	for k := range all {
		acct = append(acct, k)
	}
	slices.Sort(acct)
	for _, bs := range per {
		slices.Sort(bs)
	}
	return per, acct, counts, nil
}

// holes returns the runs of missing buckets of at least minBuckets between
// consecutive present ones.
func holes(bs []int64, minBuckets int64) []span {
	var out []span
	for i := 1; i < len(bs); i++ {
		if bs[i]-bs[i-1]-1 >= minBuckets {
			out = append(out, span{bs[i-1] + 1, bs[i]})
		}
	}
	return out
}

// eniGaps finds interfaces that logged in at least cfg.SteadyCoverage of
// the buckets of the lookback (an hour, or the gap's length if longer)
// before falling silent for cfg.GapMin or more, while the account logged
// in at least half of the silent buckets: a single flow log stopped, an
// instance's traffic vanished, or its logs were tampered with. Silences of
// the whole account are reported once, account-wide.
func eniGaps(per map[string][]int64, acct []int64, counts map[string]map[int64]int64, cfg *Config) []eniGap {
	if len(acct) == 0 {
		return nil
	}
	minB := int64(cfg.GapMin / (bucket * time.Second))
	acctSet := make(map[int64]bool, len(acct))
	for _, b := range acct {
		acctSet[b] = true
	}
	acctLast := acct[len(acct)-1]
	var out []eniGap
	enis := make([]string, 0, len(per))
	for e := range per {
		enis = append(enis, e)
	}
	sort.Strings(enis)
	for _, eni := range enis {
		bs := per[eni]
		have := make(map[int64]bool, len(bs))
		for _, b := range bs {
			have[b] = true
		}
		gaps := holes(bs, minB)
		trailing := -1
		if last := bs[len(bs)-1]; acctLast-last >= minB {
			gaps = append(gaps, span{last + 1, acctLast + 1})
			trailing = len(gaps) - 1
		}
		for gi, g := range gaps {
			look := max(int64(time.Hour/(bucket*time.Second)), g.to-g.from)
			if g.from-look < bs[0] {
				continue // the interface has not logged long enough to be expected
			}
			var in, recs int64
			for b := g.from - look; b < g.from; b++ {
				if have[b] {
					in++
					recs += counts[eni][b]
				}
			}
			share := float64(in) / float64(look)
			if share < cfg.SteadyCoverage {
				continue
			}
			var acctIn int64
			for b := g.from; b < g.to; b++ {
				if acctSet[b] {
					acctIn++
				}
			}
			if acctIn*2 < g.to-g.from {
				continue // the whole account was silent: an account-wide gap
			}
			out = append(out, eniGap{eni: eni, gap: g, trailing: gi == trailing, before: share, records: recs})
		}
	}
	return out
}

// loggingFindings reports DeleteFlowLogs calls (with the silence that
// followed and the CreateFlowLogs that ended it), account-wide silences that
// no event explains, and interfaces that logged steadily and fell silent.
func loggingFindings(ctx context.Context, q store.Querier, inv *enrich.Inventory, events []Event, cfg *Config) ([]detect.Finding, error) {
	per, acct, counts, err := coverage(ctx, q)
	if err != nil {
		return nil, err
	}
	minB := int64(cfg.GapMin / (bucket * time.Second))
	type gap struct{ from, to time.Time }
	var gaps []gap
	for _, h := range holes(acct, minB) {
		gaps = append(gaps, gap{h.start(), h.end()})
	}
	quiet := eniGaps(per, acct, counts, cfg)
	var skip int64
	if r, err := q.Query(ctx, `SELECT count(*) FROM vpc_flow_logs WHERE log_status = 'SKIPDATA'`); err == nil {
		for r.Next() {
			var n any
			if r.Scan(&n) == nil {
				skip = store.Int64(n)
			}
		}
		r.Close()
	}

	var out []detect.Finding
	explained := make([]bool, len(gaps))
	quietExplained := make([]bool, len(quiet))
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
		// A deleted flow log of some interfaces (or one subnet) silences
		// only them: their gaps starting around the deletion are its effect.
		var silent []string
		for qi, g := range quiet {
			if from := g.gap.start(); !at.Before(from.Add(-cfg.Skew)) && at.Before(g.gap.end()) {
				quietExplained[qi] = true
				silent = append(silent, g.eni)
				if g.gap.end().After(last) && !g.trailing {
					last = g.gap.end()
				}
			}
		}
		if len(silent) > 0 {
			ev["silent_interfaces"] = silent
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
			SQL: fmt.Sprintf("SELECT CAST(floor(start / 300) AS BIGINT) * 300 AS bucket, count(*) AS records FROM vpc_flow_logs\nWHERE start BETWEEN %d AND %d GROUP BY 1 ORDER BY 1", at.Add(-time.Hour).Unix(), last.Add(time.Hour).Unix())}
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
			SQL:      fmt.Sprintf("SELECT CAST(floor(start / 300) AS BIGINT) * 300 AS bucket, count(*) AS records FROM vpc_flow_logs\nWHERE start BETWEEN %d AND %d GROUP BY 1 ORDER BY 1", g.from.Add(-time.Hour).Unix(), g.to.Add(time.Hour).Unix())}
		f.ID = detect.StableID(f.Detector, f.Entity, g.from.Format(time.RFC3339), f.FirstSeen)
		out = append(out, f)
	}
	for qi, g := range quiet {
		if quietExplained[qi] {
			continue
		}
		out = append(out, eniGapFinding(inv, g))
	}
	return out, nil
}

func eniGapFinding(inv *enrich.Inventory, g eniGap) detect.Finding {
	who := g.eni
	var subnet, instance string
	if inv != nil {
		if c, ok := inv.Lookup(g.eni, netip.Addr{}); ok {
			subnet, instance = c.SubnetID, c.InstanceID
			if c.Name != "" {
				who += " (" + c.Name + ")"
			}
		}
	}
	from, to := g.gap.start(), g.gap.end()
	title := fmt.Sprintf("%s logged steadily, then no flow records for %d minutes (%s to %s) while the account kept logging",
		who, g.gap.minutes(), from.Format(time.RFC3339), to.Format(time.RFC3339))
	if g.trailing {
		title = fmt.Sprintf("%s logged steadily, then fell silent at %s (%d minutes to the end of the data) while the account kept logging",
			who, from.Format(time.RFC3339), g.gap.minutes())
	}
	ev := map[string]any{"gap_minutes": g.gap.minutes(), "gap_from": from.Format(time.RFC3339), "gap_to": to.Format(time.RFC3339),
		"silent_until_end": g.trailing, "coverage_before": math.Round(g.before*100) / 100, "records_before": g.records}
	if subnet != "" {
		ev["subnet_id"] = subnet
	}
	if instance != "" {
		ev["instance_id"] = instance
	}
	f := detect.Finding{Detector: DetLogGap, Title: title,
		Description: "An interface that logged in nearly every 5-minute interval stopped while others continued: its flow log was deleted or stopped, its instance went away, or its logs were tampered with.",
		Severity:    detect.Medium, Score: 45, MITRE: []string{"T1562.008"},
		Entity:    detect.Entity{Kind: detect.EntityENI, Value: g.eni},
		FirstSeen: from, LastSeen: to, Status: detect.StatusOpen, Evidence: ev, Key: from.Format(time.RFC3339),
		SQL: fmt.Sprintf("SELECT CAST(floor(start / 300) AS BIGINT) * 300 AS bucket, count(*) AS records FROM vpc_flow_logs\nWHERE interface_id = %s AND start BETWEEN %d AND %d GROUP BY 1 ORDER BY 1",
			quote(g.eni), from.Add(-time.Hour).Unix(), to.Add(time.Hour).Unix())}
	f.ID = detect.StableID(f.Detector, f.Entity, f.Key, f.FirstSeen)
	return f
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
				records, flowBytes, rejected = store.Int64(a), store.Int64(b), store.Int64(c)
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
