package detect

import (
	"context"
	"fmt"
	"github.com/flowhunt/flowhunt/internal/store"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

func init() {
	Register(&builtin{
		name:  "brute_force",
		desc:  "Many short, similar TCP connections from one source to one service: password guessing against any port, not only SSH. Pairs that are usual in the baseline (health checks, pollers) are not reported.",
		mitre: []string{"T1110", "T1110.001", "T1110.003"},
		params: []Param{
			p("min_connections", 30.0, "distinct connections (source ports) from one source to one service"),
			p("max_avg_bytes", 20000.0, "average bytes per record above which the connections carry real data"),
			p("auth_ports", authPorts, "authentication services; other ports need a higher rate"),
			p("min_rate_per_minute", 2.0, "connections per minute needed on ports outside auth_ports"),
		},
		sev: High,
		run: runBruteForce,
	})
	Register(&builtin{
		name:  "lateral_movement",
		desc:  "An internal host opens remote-administration connections (SSH, RDP, SMB, WinRM, VNC, Docker, kubelet) to internal hosts it never used before.",
		mitre: []string{"T1021", "T1210", "T1570"},
		params: []Param{
			p("ports", remoteAdminPorts, "remote administration ports"),
		},
		sev: High,
		run: runLateral,
	})
	Register(&builtin{
		name:  "exposed_port",
		desc:  "Internet sources reach a port they should not: a database/cache/admin API ACCEPTed from outside, or a port that was rejected and became reachable (a security group opened).",
		mitre: []string{"T1595", "T1190", "T1133"},
		params: []Param{
			p("sensitive_ports", sensitivePorts, "ports that must never accept internet traffic"),
			p("min_sources", 1.0, "distinct internet sources ACCEPTed"),
		},
		sev: High,
		run: runExposed,
	})
	Register(&builtin{
		name:  "rejected_inbound",
		desc:  "Internet sources with many REJECTed inbound flows (mission use case 1). Every public host sees these; they are context for other findings, reported as low.",
		mitre: []string{"T1595", "T1046"},
		params: []Param{
			p("min_rejects", 10.0, "rejected inbound flows from one source"),
			p("max_findings", 50.0, "report only the noisiest sources"),
		},
		sev: Low,
		run: runRejectedInbound,
	})
	Register(&builtin{
		name:  "failed_connections",
		desc:  "An internal host repeatedly fails to reach a destination (REJECT): misconfiguration, blocked malware, or a DoS attempt (mission use case 4).",
		mitre: []string{"T1046", "T1499"},
		params: []Param{
			p("min_failures", 10.0, "rejected flows from one source to one destination"),
			p("max_findings", 50.0, "report only the noisiest pairs"),
		},
		sev: Low,
		run: runFailed,
	})
}

// pairInfo is the history of a (source, destination, port) pair.
type pairInfo struct {
	first, last time.Time
	activeHours int64
}

// pairHistory returns first-seen times and active hours of initiated
// (src, dst, port) pairs of the given sources over the baseline and window.
func pairHistory(ctx context.Context, env *Env, detector string, srcs []string) (map[[3]string]pairInfo, error) {
	out := map[[3]string]pairInfo{}
	for len(srcs) > 0 {
		n := min(len(srcs), 500)
		chunk := srcs[:n]
		srcs = srcs[n:]
		args := []any{env.DataFrom.Unix(), env.To.Unix()}
		ph := make([]string, len(chunk))
		for i, s := range chunk {
			args = append(args, s)
			ph[i] = "?"
		}
		sql := `SELECT srcaddr, dstaddr, dstport, min(start), count(DISTINCT CAST(floor(start / 3600) AS BIGINT)), max(start)
FROM vpc_flow_logs WHERE ` + inWindow + ` AND ` + okData + ` AND ` + initiated + ` AND srcaddr IN (` + strings.Join(ph, ", ") + `)
GROUP BY srcaddr, dstaddr, dstport`
		err := query(ctx, env.Q, detector, sql, args, func(r row) error {
			out[[3]string{r.Str(0), r.Str(1), r.Str(2)}] = pairInfo{ts(r.Int(3)), ts(r.Int(5)), r.Int(4)}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// usualPair: seen before the learning period ended, or active in many
// hours of the data (a long-standing relationship, not a burst).
func (e *Env) usualPair(pi pairInfo) bool {
	if !e.novel(pi.first, e.learnPeriod()) {
		return true
	}
	if pi.last.Sub(pi.first) >= 20*time.Hour {
		return true // seen on different days: a standing relationship or a scheduled job
	}
	hours := e.To.Sub(e.DataFrom).Hours()
	return float64(pi.activeHours) >= math.Max(6, hours/4)
}

func runBruteForce(ctx context.Context, env *Env) ([]Finding, error) {
	from, to := env.window()
	sql := `SELECT srcaddr, dstaddr, dstport, count(DISTINCT srcport) AS conns, count(*) AS flows,
  avg(bytes), stddev_pop(bytes), sum(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END),
  min(start), max("end"), min(direction), sum(bytes)
FROM vpc_flow_logs WHERE ` + inWindow + ` AND ` + okData + ` AND protocol = 6 AND ` + initiated + ` AND {pass}
GROUP BY srcaddr, dstaddr, dstport HAVING count(DISTINCT srcport) >= ?`
	auth := env.Ports("auth_ports")
	var cands []Finding
	var srcs []string
	err := inPasses(ctx, env, "brute_force", sql, "srcaddr", []any{from, to, env.Int("min_connections")}, func(r row) error {
		src, dst, port := r.Str(0), r.Str(1), int(r.Int(2))
		conns, avg, sd := r.Int(3), r.Float(5), r.Float(6)
		first, last := ts(r.Int(8)), ts(r.Int(9))
		if avg > env.Float("max_avg_bytes") {
			return nil
		}
		if rej := r.Int(7); float64(r.Int(4)-rej) < float64(env.Int("min_connections"))/2 {
			return nil // nearly all refused: a probe of a closed port, not guessing at a live service
		}
		minutes := math.Max(last.Sub(first).Minutes(), 1)
		rate := float64(conns) / minutes
		isAuth := slices.Contains(auth, port)
		if !isAuth && rate < env.Float("min_rate_per_minute") {
			return nil
		}
		cv := 0.0
		if avg > 0 {
			cv = sd / avg
		}
		sev := Medium
		if srcInternal(env, src, r.Str(10)) || cv < 0.5 && isAuth {
			sev = High
		}
		cands = append(cands, Finding{
			Title:        fmt.Sprintf("brute force: %s made %d connections to %s port %d", src, conns, dst, port),
			Severity:     sev,
			Score:        logScore(float64(conns), float64(env.Int("min_connections")), 10000),
			MITRE:        []string{"T1110"},
			Entity:       Entity{EntityIP, src},
			Key:          hostPort(dst, port),
			Counterparts: []string{dst},
			Ports:        []int{port},
			FirstSeen:    first, LastSeen: last,
			Evidence: map[string]any{
				"connections": conns, "flows": r.Int(4), "avg_bytes": math.Round(avg), "bytes_cv": math.Round(cv*100) / 100,
				"rejected": r.Int(7), "per_minute": math.Round(rate*10) / 10, "direction": r.Str(10), "auth_port": isAuth,
			},
			SQL: evidenceSQL(first, last, eq("srcaddr", src), eq("dstaddr", dst), eq("dstport", int64(port))),
		})
		srcs = append(srcs, src)
		return nil
	})
	if err != nil || len(cands) == 0 {
		return nil, err
	}
	hist, err := pairHistory(ctx, env, "brute_force", uniq(srcs))
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, f := range cands {
		pi, ok := hist[[3]string{f.Entity.Value, f.Counterparts[0], fmt.Sprint(f.Ports[0])}]
		if ok && env.usualPair(pi) && f.Evidence["rejected"].(int64) == 0 {
			continue // a long-standing client of this service (pollers, health checks)
		}
		out = append(out, f)
	}
	return out, nil
}

func runLateral(ctx context.Context, env *Env) ([]Finding, error) {
	from, to := env.window()
	ports := env.Ports("ports")
	sql := `SELECT srcaddr, dstaddr, dstport, count(*), sum(bytes), min(start), max("end")
FROM vpc_flow_logs WHERE ` + inWindow + ` AND ` + okData + ` AND direction = 'internal' AND action = 'ACCEPT'
  AND dstport IN ` + portList(ports) + ` AND ` + initiated + `
GROUP BY srcaddr, dstaddr, dstport`
	type pair struct {
		dst         string
		port        int
		flows, byts int64
		first, last time.Time
	}
	bySrc := map[string][]pair{}
	var srcs []string
	err := query(ctx, env.Q, "lateral_movement", sql, []any{from, to}, func(r row) error {
		s := r.Str(0)
		if bySrc[s] == nil {
			srcs = append(srcs, s)
		}
		bySrc[s] = append(bySrc[s], pair{r.Str(1), int(r.Int(2)), r.Int(3), r.Int(4), ts(r.Int(5)), ts(r.Int(6))})
		return nil
	})
	if err != nil || len(srcs) == 0 {
		return nil, err
	}
	hist, err := pairHistory(ctx, env, "lateral_movement", srcs)
	if err != nil {
		return nil, err
	}
	// Per-host baseline: a host with usual remote-admin relationships is an
	// admin host (bastion, management server); its new pairs are its job.
	admin := map[string]bool{}
	for k, pi := range hist {
		if slices.Contains(ports, int(store.Int64(k[2]))) && env.usualPair(pi) {
			admin[k[0]] = true
		}
	}
	var out []Finding
	for _, src := range srcs {
		var f Finding
		var dsts []string
		var conds []string
		// Rows come in no set order; the evidence SQL keeps the first 20
		// pairs, so order them for the same SQL every run.
		prs := bySrc[src]
		sort.Slice(prs, func(i, j int) bool {
			if prs[i].dst != prs[j].dst {
				return prs[i].dst < prs[j].dst
			}
			return prs[i].port < prs[j].port
		})
		for _, pr := range prs {
			pi := hist[[3]string{src, pr.dst, fmt.Sprint(pr.port)}]
			if env.usualPair(pi) {
				continue
			}
			if f.FirstSeen.IsZero() || pr.first.Before(f.FirstSeen) {
				f.FirstSeen = pr.first
			}
			if pr.last.After(f.LastSeen) {
				f.LastSeen = pr.last
			}
			if !slices.Contains(dsts, pr.dst) {
				dsts = append(dsts, pr.dst)
			}
			f.Ports = append(f.Ports, pr.port)
			conds = append(conds, fmt.Sprintf("(dstaddr = %s AND dstport = %d)", lit(pr.dst), pr.port))
		}
		if len(dsts) == 0 {
			continue
		}
		f.Entity = Entity{EntityIP, src}
		f.Counterparts = dsts
		f.Severity = Medium
		if len(dsts) >= 2 {
			f.Severity = High
		}
		f.Score = logScore(float64(len(dsts)), 1, 50)
		f.MITRE = []string{"T1021"}
		f.Title = fmt.Sprintf("lateral movement: %s opened remote-admin sessions to %d new internal %s", src, len(dsts), plural(int64(len(dsts)), "host", "hosts"))
		f.Evidence = map[string]any{"new_hosts": len(dsts), "new_pairs": len(conds)}
		if admin[src] {
			f.Severity = Low
			f.Score /= 2
			f.Evidence["admin_host"] = "the host has usual remote-admin sessions in the baseline (bastion or management host)"
		}
		if len(conds) > 20 {
			conds = conds[:20]
		}
		f.SQL = evidenceSQL(f.FirstSeen, f.LastSeen, eq("srcaddr", src), "("+strings.Join(conds, " OR ")+")")
		out = append(out, f)
	}
	return out, nil
}

func runExposed(ctx context.Context, env *Env) ([]Finding, error) {
	sens := env.Ports("sensitive_ports")
	// Over baseline + window: when each internal port was first ACCEPTed
	// from and first REJECTed to the internet.
	sql := `SELECT dstaddr, dstport,
  min(CASE WHEN action = 'ACCEPT' THEN start END) AS first_accept,
  min(CASE WHEN action = 'REJECT' THEN start END) AS first_reject,
  count(DISTINCT CASE WHEN action = 'ACCEPT' AND start >= ? THEN srcaddr END) AS sources,
  max(CASE WHEN action = 'ACCEPT' THEN "end" END), sum(CASE WHEN action = 'ACCEPT' AND start >= ? THEN 1 ELSE 0 END)
FROM vpc_flow_logs WHERE ` + inWindow + ` AND ` + okData + ` AND direction = 'inbound' AND ` + initiated + `
GROUP BY dstaddr, dstport
HAVING count(DISTINCT CASE WHEN action = 'ACCEPT' AND start >= ? THEN srcaddr END) >= ?`
	from := env.From.Unix()
	var out []Finding
	err := query(ctx, env.Q, "exposed_port", sql, []any{from, from, env.DataFrom.Unix(), env.To.Unix(), from, env.Int("min_sources")}, func(r row) error {
		dst, port := r.Str(0), int(r.Int(1))
		firstAcc := ts(r.Int(2))
		sensitive := slices.Contains(sens, port)
		opened := !r.Null(3) && r.Int(3) < r.Int(2) && env.novel(firstAcc, env.learnPeriod()) && r.Int(4) >= 2
		if !sensitive && !opened {
			return nil
		}
		first := firstAcc
		if first.Before(env.From) {
			first = env.From
		}
		last := ts(r.Int(5))
		f := Finding{
			Entity:    Entity{EntityIP, dst},
			Key:       fmt.Sprint(port),
			Ports:     []int{port},
			Severity:  High,
			Score:     logScore(float64(r.Int(4)), 1, 1000),
			MITRE:     []string{"T1595", "T1190"},
			FirstSeen: first, LastSeen: last,
			Evidence: map[string]any{"internet_sources": r.Int(4), "accepted_flows": r.Int(6), "sensitive_port": sensitive, "newly_opened": opened},
			SQL:      evidenceSQL(first, last, eq("dstaddr", dst), eq("dstport", int64(port)), "direction = 'inbound'", "action = 'ACCEPT'"),
		}
		if opened {
			f.Evidence["first_rejected"] = ts(r.Int(3)).Format(time.RFC3339)
			f.Evidence["first_accepted"] = firstAcc.Format(time.RFC3339)
			f.Title = fmt.Sprintf("exposed port: %s port %d became reachable from the internet (%d sources)", dst, port, r.Int(4))
			f.Description = "The port was rejected, then ACCEPTed from internet sources: a security group or NACL opened it. Look for AuthorizeSecurityGroupIngress in CloudTrail."
		} else {
			f.Title = fmt.Sprintf("exposed port: internet sources reached %s on sensitive port %d", dst, port)
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		f := &out[i]
		sql := `SELECT DISTINCT srcaddr FROM vpc_flow_logs WHERE ` + inWindow + ` AND direction = 'inbound' AND action = 'ACCEPT' AND dstaddr = ? AND dstport = ? ORDER BY srcaddr LIMIT 50`
		err := query(ctx, env.Q, "exposed_port", sql, []any{env.From.Unix(), env.To.Unix(), f.Entity.Value, f.Ports[0]}, func(r row) error {
			f.Counterparts = append(f.Counterparts, r.Str(0))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func runRejectedInbound(ctx context.Context, env *Env) ([]Finding, error) {
	from, to := env.window()
	sql := `SELECT srcaddr, count(*) AS n, count(DISTINCT dstaddr), count(DISTINCT dstport), min(start), max("end"), min(dstport)
FROM vpc_flow_logs WHERE ` + inWindow + ` AND action = 'REJECT' AND direction = 'inbound'
GROUP BY srcaddr HAVING count(*) >= ? ORDER BY n DESC, srcaddr LIMIT ?`
	var out []Finding
	err := query(ctx, env.Q, "rejected_inbound", sql, []any{from, to, env.Int("min_rejects"), env.Int("max_findings")}, func(r row) error {
		src := r.Str(0)
		first, last := ts(r.Int(4)), ts(r.Int(5))
		out = append(out, Finding{
			Title:     fmt.Sprintf("rejected inbound: %s was refused %d times (%d hosts, %d ports)", src, r.Int(1), r.Int(2), r.Int(3)),
			Severity:  Low,
			Score:     logScore(float64(r.Int(1)), float64(env.Int("min_rejects")), 100000) / 2,
			MITRE:     []string{"T1595"},
			Entity:    Entity{EntityIP, src},
			FirstSeen: first, LastSeen: last,
			Evidence: map[string]any{"rejected_flows": r.Int(1), "hosts": r.Int(2), "ports": r.Int(3)},
			SQL:      evidenceSQL(first, last, eq("srcaddr", src), "action = 'REJECT'"),
		})
		return nil
	})
	return out, err
}

func runFailed(ctx context.Context, env *Env) ([]Finding, error) {
	from, to := env.window()
	sql := `SELECT srcaddr, dstaddr, count(*) AS n, count(DISTINCT dstport), min(start), max("end"), min(direction)
FROM vpc_flow_logs WHERE ` + inWindow + ` AND action = 'REJECT' AND direction IN ('outbound', 'internal')
GROUP BY srcaddr, dstaddr HAVING count(*) > ? ORDER BY n DESC, srcaddr, dstaddr LIMIT ?`
	var out []Finding
	err := query(ctx, env.Q, "failed_connections", sql, []any{from, to, env.Int("min_failures"), env.Int("max_findings")}, func(r row) error {
		src, dst := r.Str(0), r.Str(1)
		first, last := ts(r.Int(4)), ts(r.Int(5))
		out = append(out, Finding{
			Title:        fmt.Sprintf("failed connections: %s was refused %d times reaching %s", src, r.Int(2), dst),
			Severity:     Low,
			Score:        logScore(float64(r.Int(2)), float64(env.Int("min_failures")), 100000) / 2,
			MITRE:        []string{"T1046"},
			Entity:       Entity{EntityIP, src},
			Key:          dst,
			Counterparts: []string{dst},
			FirstSeen:    first, LastSeen: last,
			Evidence: map[string]any{"rejected_flows": r.Int(2), "ports": r.Int(3), "direction": r.Str(6)},
			SQL:      evidenceSQL(first, last, eq("srcaddr", src), eq("dstaddr", dst), "action = 'REJECT'"),
		})
		return nil
	})
	return out, err
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
