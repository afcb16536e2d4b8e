package detect

import (
	"context"
	"fmt"
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
FROM vpc_flow_logs WHERE ` + scanFilter + `
GROUP BY srcaddr, dstaddr HAVING count(DISTINCT dstport) >= ?`
	var out []Finding
	err := query(ctx, env.Q, "port_scan_vertical", sql, []any{from, to, env.Int("min_ports")}, func(r row) error {
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
			f.Severity = Low
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
	return out, markRecurring(ctx, env, "port_scan_vertical", "dstaddr", "dstport", out)
}

func runHorizontalScan(ctx context.Context, env *Env) ([]Finding, error) {
	from, to := env.window()
	sql := `SELECT srcaddr, dstport, protocol, count(DISTINCT dstaddr) AS hosts, count(*) AS flows,
  sum(CASE WHEN action = 'REJECT' OR ` + synOnly + ` THEN 1 ELSE 0 END) AS failed,
  min(start), max("end"), min(direction)
FROM vpc_flow_logs WHERE ` + scanFilter + `
GROUP BY srcaddr, dstport, protocol HAVING count(DISTINCT dstaddr) >= ?`
	var out []Finding
	err := query(ctx, env.Q, "port_scan_horizontal", sql, []any{from, to, env.Int("min_hosts")}, func(r row) error {
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
			f.Severity = Low
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, markRecurring(ctx, env, "port_scan_horizontal", "dstport", "dstaddr", out)
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
				f.Severity = Low
				f.Evidence["recurring"] = "scans at the same time on several days (a scheduled scanner); allowlist it with a reason"
				break
			}
		}
	}
	return nil
}
