package detect

import (
	"context"
	"fmt"
	"github.com/flowhunt/flowhunt/internal/store"
	"sort"
	"strings"
	"time"
)

func init() {
	Register(&builtin{
		name:  "port_scan_vertical",
		desc:  "One source tries many ports of one host (inbound, outbound or internal), fast or spread over hours; scheduled scanners that repeat daily are reported as low.",
		mitre: []string{"T1046", "T1595.001"},
		params: []Param{
			p("min_ports", 20.0, "distinct destination ports of one host in the window"),
			p("min_ports_internet", 40.0, "distinct ports for a scan from the internet to rise above low (background scanners try a fixed list of ~20)"),
			p("slow_after_seconds", 3600.0, "a scan spread over more than this is reported as a slow scan"),
		},
		sev: High,
		run: runVerticalScan,
	})
	Register(&builtin{
		name:  "port_scan_horizontal",
		desc:  "One source tries the same port on many hosts (sweep), inbound, outbound or internal; scheduled scanners that repeat daily are reported as low.",
		mitre: []string{"T1046", "T1018", "T1595.001"},
		params: []Param{
			p("min_hosts", 20.0, "distinct destination hosts on one port in the window"),
			p("min_hosts_internet", 50.0, "distinct hosts for a sweep from the internet to rise above low (every public host is swept all day)"),
			p("internet_share", 0.75, "share of the hosts the internet reaches on that port a sweep from the internet must cover to rise above low (background scanners reach a share that stays put as the network grows, so a fixed count alone is passed by them in a bigger network)"),
			p("slow_after_seconds", 3600.0, "a sweep spread over more than this is reported as slow"),
		},
		sev: High,
		run: runHorizontalScan,
	})
}

// scanFilter selects connection attempts: initiated TCP/UDP records.
const scanFilter = inWindow + " AND " + okData + " AND protocol IN (6, 17) AND " + initiated

func runVerticalScan(ctx context.Context, env *Env) ([]Finding, error) {
	from, to := env.window()
	sql := `SELECT srcaddr, dstaddr, count(DISTINCT dstport) AS ports, count(*) AS flows,
  sum(CASE WHEN action = 'REJECT' OR ` + synOnly + ` THEN 1 ELSE 0 END) AS failed,
  count(DISTINCT CASE WHEN dstport < 1024 THEN dstport END) AS privileged,
  min(start), max("end"), min(dstport), max(dstport), min(direction), min(interface_id)
FROM vpc_flow_logs WHERE ` + scanFilter + ` AND {pass}
GROUP BY srcaddr, dstaddr HAVING count(DISTINCT dstport) >= ?`
	var out []Finding
	err := inPasses(ctx, env, "port_scan_vertical", sql, "srcaddr", []any{from, to, env.Int("min_ports")}, func(r row) error {
		src, dst := r.Str(0), r.Str(1)
		ports, flows, failed := r.Int(2), r.Int(3), r.Int(4)
		first, last := ts(r.Int(6)), ts(r.Int(7))
		f := Finding{
			Entity:       Entity{EntityIP, src},
			Key:          dst,
			Counterparts: []string{dst},
			FirstSeen:    first, LastSeen: last,
			MITRE: []string{"T1046"},
			Score: logScore(float64(ports), float64(env.Int("min_ports")), 1000),
			Evidence: map[string]any{
				"distinct_ports": ports, "flows": flows, "failed_flows": failed,
				"privileged_ports": r.Int(5), "lowest_port": r.Int(8), "highest_port": r.Int(9),
				"direction": r.Str(10), "eni": r.Str(11),
			},
			SQL: evidenceSQL(first, last, eq("srcaddr", src), eq("dstaddr", dst)),
		}
		kind := "port scan"
		if last.Sub(first) > time.Duration(env.Float("slow_after_seconds"))*time.Second {
			kind = "slow port scan"
			f.Evidence["ports_per_hour"] = float64(ports) / last.Sub(first).Hours()
		}
		f.Title = fmt.Sprintf("%s: %s tried %d ports on %s", kind, src, ports, dst)
		f.Severity = scanSeverity(env, src, r.Str(10))
		if f.Severity == Medium && ports < env.Int("min_ports_internet") {
			f.Severity = Info // background scanning: every public host sees it all day
		}
		if f.Evidence["direction"] == "inbound" {
			f.MITRE = append(f.MITRE, "T1595.001")
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := markRecurring(ctx, env, "port_scan_vertical", "dstaddr", "dstport", out); err != nil {
		return nil, err
	}
	return foldLow(out, false), nil
}

func runHorizontalScan(ctx context.Context, env *Env) ([]Finding, error) {
	from, to := env.window()
	sql := `SELECT srcaddr, dstport, protocol, count(DISTINCT dstaddr) AS hosts, count(*) AS flows,
  sum(CASE WHEN action = 'REJECT' OR ` + synOnly + ` THEN 1 ELSE 0 END) AS failed,
  min(start), max("end"), min(direction)
FROM vpc_flow_logs WHERE ` + scanFilter + ` AND {pass}
GROUP BY srcaddr, dstport, protocol HAVING count(DISTINCT dstaddr) >= ?`
	var out []Finding
	err := inPasses(ctx, env, "port_scan_horizontal", sql, "srcaddr", []any{from, to, env.Int("min_hosts")}, func(r row) error {
		src, port, proto := r.Str(0), int(r.Int(1)), r.Int(2)
		hosts := r.Int(3)
		first, last := ts(r.Int(6)), ts(r.Int(7))
		if float64(r.Int(5)) < 0.2*float64(r.Int(4)) && float64(hosts)/max(last.Sub(first).Hours(), 1) < 20 {
			return nil // a client of many servers (CDNs, APIs): its attempts succeed and come slowly
		}
		f := Finding{
			Entity:    Entity{EntityIP, src},
			Key:       fmt.Sprintf("%d/%d", port, proto),
			Ports:     []int{port},
			FirstSeen: first, LastSeen: last,
			MITRE: []string{"T1046", "T1018"},
			Score: logScore(float64(hosts), float64(env.Int("min_hosts")), 5000),
			Evidence: map[string]any{
				"distinct_hosts": hosts, "flows": r.Int(4), "failed_flows": r.Int(5), "protocol": proto, "direction": r.Str(8),
			},
			SQL: evidenceSQL(first, last, eq("srcaddr", src), eq("dstport", int64(port)), eq("protocol", proto)),
		}
		kind := "port sweep"
		if last.Sub(first) > time.Duration(env.Float("slow_after_seconds"))*time.Second {
			kind = "slow port sweep"
			f.Evidence["hosts_per_hour"] = float64(hosts) / last.Sub(first).Hours()
		}
		f.Title = fmt.Sprintf("%s: %s probed port %d on %d hosts", kind, src, port, hosts)
		f.Severity = scanSeverity(env, src, r.Str(8))
		if f.Severity == Medium && hosts < env.Int("min_hosts_internet") {
			f.Severity = Info // background scanning: every public host sees it all day
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A sweep from the internet must also cover a share of the hosts the
	// internet reaches on that port: read once, and only when one passed
	// the fixed floor.
	var exposed map[string]int64
	for i := range out {
		f := &out[i]
		if f.Severity != Medium {
			continue
		}
		if exposed == nil {
			if exposed, err = internetExposure(ctx, env); err != nil {
				return nil, err
			}
		}
		n := exposed[f.Key]
		f.Evidence["exposed_hosts"] = n
		if need := env.Float("internet_share") * float64(n); float64(f.Evidence["distinct_hosts"].(int64)) < need {
			f.Severity = Info
			f.Evidence["background"] = fmt.Sprintf("reached %d of the %d hosts the internet reaches on this port (under %.0f%%): background scanning", f.Evidence["distinct_hosts"], n, 100*env.Float("internet_share"))
		}
	}
	if err := markRecurring(ctx, env, "port_scan_horizontal", "dstport", "dstaddr", out); err != nil {
		return nil, err
	}
	return foldLow(out, true), nil
}

// internetExposure counts, per port/protocol ("443/6"), the hosts that
// sources on the internet tried to reach in the window: the population a
// background scanner samples from. It grows with the network, and so does
// the number of hosts any one background scanner reaches.
func internetExposure(ctx context.Context, env *Env) (map[string]int64, error) {
	from, to := env.window()
	sql := `SELECT dstport, protocol, count(DISTINCT dstaddr) FROM vpc_flow_logs
WHERE ` + scanFilter + ` AND direction = 'inbound'
GROUP BY dstport, protocol`
	out := map[string]int64{}
	err := query(ctx, env.Q, "port_scan_horizontal", sql, []any{from, to}, func(r row) error {
		out[fmt.Sprintf("%d/%d", r.Int(0), r.Int(1))] = r.Int(2)
		return nil
	})
	return out, err
}

// scanSeverity: scans from inside (a compromised host) are high; scans from
// the internet are medium, since any public host sees them.
func scanSeverity(env *Env, src, direction string) Severity {
	if !srcInternal(env, src, direction) {
		return Medium
	}
	return High
}

// markRecurring lowers findings of sources that scan on a daily schedule:
// scanning-like hours 23 to 25 hours apart, in the window or its baseline.
// An authorised scanner repeats; an attacker's scan is a one-off.
func markRecurring(ctx context.Context, env *Env, detector, keyCol, countCol string, fs []Finding) error {
	if len(fs) == 0 {
		return nil
	}
	srcs := map[string]bool{}
	var args []any
	args = append(args, env.DataFrom.Unix(), env.To.Unix())
	var ph []string
	for _, f := range fs {
		if !srcs[f.Entity.Value] {
			srcs[f.Entity.Value] = true
			args = append(args, f.Entity.Value)
			ph = append(ph, "?")
		}
	}
	sql := `SELECT srcaddr, CAST(` + keyCol + ` AS VARCHAR), CAST(floor(start / 3600) AS BIGINT) AS h
FROM vpc_flow_logs WHERE ` + scanFilter + ` AND srcaddr IN (` + strings.Join(ph, ", ") + `)
GROUP BY srcaddr, CAST(` + keyCol + ` AS VARCHAR), CAST(floor(start / 3600) AS BIGINT)
HAVING count(DISTINCT ` + countCol + `) >= 5`
	hours := map[string]map[int64]bool{}
	err := query(ctx, env.Q, detector, sql, args, func(r row) error {
		k := r.Str(0) + "|" + r.Str(1)
		m := hours[k]
		if m == nil {
			m = map[int64]bool{}
			hours[k] = m
		}
		m[r.Int(2)] = true
		return nil
	})
	if err != nil {
		return err
	}
	for i := range fs {
		f := &fs[i]
		key := f.Key
		if keyCol == "dstport" {
			key = fmt.Sprint(f.Ports[0])
		}
		m := hours[f.Entity.Value+"|"+key]
		for h := range m {
			if m[h+23] || m[h+24] || m[h+25] {
				f.Severity = min(f.Severity, Low) // lowers, never raises background scanning
				f.Evidence["recurring"] = "scans at the same time on several days (a scheduled scanner); allowlist it with a reason"
				break
			}
		}
	}
	return nil
}

// maxFolded caps the counterparts and ports listed on a folded finding.
const maxFolded = 50

// foldLow turns the findings below medium of one source and severity into
// one finding: a background scanner (info) or a scheduled one (low) touches
// hosts (vertical) or ports (horizontal) in proportion to the size of the
// network, and one finding per target would bury the medium and high ones.
// Findings at medium or above are kept one per target. sweeps says the findings are horizontal
// (one per port) rather than vertical (one per target host).
func foldLow(fs []Finding, sweeps bool) []Finding {
	groups := map[string][]int{}
	var order []string
	for i := range fs {
		if fs[i].Severity >= Medium {
			continue
		}
		k := fs[i].Severity.String() + "|" + fs[i].Entity.Value
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	drop := map[int]bool{}
	var folded []Finding
	for _, k := range order {
		idx := groups[k]
		if len(idx) < 2 {
			continue
		}
		first := fs[idx[0]]
		src := first.Entity.Value
		g := Finding{
			Entity:    first.Entity,
			Key:       "folded-" + first.Severity.String(),
			Severity:  first.Severity,
			FirstSeen: first.FirstSeen, LastSeen: first.LastSeen,
			Evidence: map[string]any{"folded_findings": int64(len(idx)), "direction": first.Evidence["direction"]},
		}
		var flows, failed, widest int64
		hosts, ports := map[string]bool{}, map[int]bool{}
		mitre := map[string]bool{}
		for _, i := range idx {
			f := &fs[i]
			drop[i] = true
			g.FirstSeen = minTime(g.FirstSeen, f.FirstSeen)
			g.LastSeen = maxTime(g.LastSeen, f.LastSeen)
			g.Score = max(g.Score, f.Score)
			flows += store.Int64(f.Evidence["flows"])
			failed += store.Int64(f.Evidence["failed_flows"])
			for _, m := range f.MITRE {
				mitre[m] = true
			}
			for _, c := range f.Counterparts {
				hosts[c] = true
			}
			for _, p := range f.Ports {
				ports[p] = true
			}
			for _, e := range []string{"recurring", "background"} {
				if r, ok := f.Evidence[e]; ok {
					g.Evidence[e] = r
				}
			}
			if sweeps {
				widest = max(widest, store.Int64(f.Evidence["distinct_hosts"]))
			} else {
				widest = max(widest, store.Int64(f.Evidence["distinct_ports"]))
			}
		}
		for m := range mitre {
			g.MITRE = append(g.MITRE, m)
		}
		sort.Strings(g.MITRE)
		g.Evidence["flows"], g.Evidence["failed_flows"] = flows, failed
		if sweeps {
			for p := range ports {
				g.Ports = append(g.Ports, p)
			}
			sort.Ints(g.Ports)
			g.Evidence["distinct_ports"] = int64(len(g.Ports))
			g.Evidence["max_hosts_on_one_port"] = widest
			g.Title = fmt.Sprintf("port sweeps: %s probed %d ports, up to %d hosts on one", src, len(g.Ports), widest)
			g.Ports = g.Ports[:min(len(g.Ports), maxFolded)]
			g.SQL = evidenceSQL(g.FirstSeen, g.LastSeen, eq("srcaddr", src), "dstport IN "+portList(g.Ports))
		} else {
			for h := range hosts {
				g.Counterparts = append(g.Counterparts, h)
			}
			sort.Strings(g.Counterparts)
			g.Evidence["distinct_hosts"] = int64(len(g.Counterparts))
			g.Evidence["max_ports_on_one_host"] = widest
			g.Title = fmt.Sprintf("port scans: %s tried up to %d ports on each of %d hosts", src, widest, len(g.Counterparts))
			g.Counterparts = g.Counterparts[:min(len(g.Counterparts), maxFolded)]
			g.SQL = evidenceSQL(g.FirstSeen, g.LastSeen, eq("srcaddr", src))
		}
		folded = append(folded, g)
	}
	if len(drop) == 0 {
		return fs
	}
	out := make([]Finding, 0, len(fs)-len(drop)+len(folded))
	for i := range fs {
		if !drop[i] {
			out = append(out, fs[i])
		}
	}
	return append(out, folded...)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
