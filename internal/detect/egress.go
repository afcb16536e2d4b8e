package detect

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

func init() {
	Register(&builtin{
		name:  "cryptomining",
		desc:  "Outbound connections to mining-pool (stratum) ports, severe when long-lived or repeated.",
		mitre: []string{"T1496", "T1496.001"},
		params: []Param{
			p("ports", poolPorts, "mining pool ports"),
			p("long_seconds", 1800.0, "a pair active this long is mining, not a probe"),
		},
		sev: High,
		run: runCrypto,
	})
	Register(&builtin{
		name:  "dns_external_resolver",
		desc:  "DNS (53) or DNS-over-TLS (853) sent straight to resolvers outside the VPC, bypassing the VPC resolver and its logging.",
		mitre: []string{"T1071.004", "T1572", "T1568"},
		params: []Param{
			p("ports", []int{53, 853}, "DNS and DoT ports"),
			p("min_flows", 3.0, "flows from one host"),
		},
		sev: Medium,
		run: runDNS,
	})
	Register(&builtin{
		name:   "threat_intel",
		desc:   "Traffic with IPs or CIDRs of the configured threat-intel lists. Outbound or accepted contact is high; blocked inbound probes from listed scanners are low.",
		mitre:  []string{"T1071", "T1105", "T1041"},
		params: []Param{},
		sev:    High,
		run:    runIntel,
	})
	Register(&builtin{
		name:  "unusual_port",
		desc:  "A host uses an outbound port or an IP protocol it never used in the baseline (non-standard port, unusual protocol).",
		mitre: []string{"T1571", "T1095"},
		params: []Param{
			p("common_ports", commonPorts, "ports never reported"),
			p("min_bytes", 10000.0, "bytes sent on the new port"),
			p("max_findings", 50.0, "report only the largest"),
		},
		sev: Low,
		run: runUnusualPort,
	})
}

func runCrypto(ctx context.Context, env *Env) ([]Finding, error) {
	from, to := env.window()
	sql := `SELECT srcaddr, dstaddr, dstport, count(*), CAST(sum(bytes) AS BIGINT), min(start), max("end")
FROM vpc_flow_logs WHERE ` + inWindow + ` AND ` + okData + ` AND direction = 'outbound' AND action = 'ACCEPT'
  AND protocol = 6 AND dstport IN ` + portList(env.Ports("ports")) + ` AND dstport < srcport
GROUP BY srcaddr, dstaddr, dstport`
	var out []Finding
	err := query(ctx, env.Q, "cryptomining", sql, []any{from, to}, func(r row) error {
		src, dst, port := r.Str(0), r.Str(1), int(r.Int(2))
		first, last := ts(r.Int(5)), ts(r.Int(6))
		span := last.Sub(first).Seconds()
		sev := Medium
		if span >= env.Float("long_seconds") {
			sev = High
		}
		out = append(out, Finding{
			Title:        fmt.Sprintf("cryptomining: %s talks to %s on pool port %d for %.1f h", src, dst, port, span/3600),
			Severity:     sev,
			Score:        logScore(span+1, 60, 86400),
			MITRE:        []string{"T1496"},
			Entity:       Entity{EntityIP, src},
			Key:          hostPort(dst, port),
			Counterparts: []string{dst},
			Ports:        []int{port},
			FirstSeen:    first, LastSeen: last,
			Evidence: map[string]any{"flows": r.Int(3), "bytes": r.Int(4), "active_seconds": int64(span)},
			SQL:      evidenceSQL(first, last, eq("srcaddr", src), eq("dstaddr", dst), eq("dstport", int64(port))),
		})
		return nil
	})
	return out, err
}

func runDNS(ctx context.Context, env *Env) ([]Finding, error) {
	from, to := env.window()
	sql := `SELECT srcaddr, count(*), count(DISTINCT dstaddr), min(dstaddr), max(dstaddr), min(start), max("end"), max(dstport)
FROM vpc_flow_logs WHERE ` + inWindow + ` AND ` + okData + ` AND direction = 'outbound'
  AND dstport IN ` + portList(env.Ports("ports")) + ` AND dstport < srcport
GROUP BY srcaddr HAVING count(*) >= ?`
	var out []Finding
	err := query(ctx, env.Q, "dns_external_resolver", sql, []any{from, to, env.Int("min_flows")}, func(r row) error {
		src := r.Str(0)
		first, last := ts(r.Int(5)), ts(r.Int(6))
		kind := "DNS"
		if r.Int(7) == 853 {
			kind = "DNS over TLS"
		}
		out = append(out, Finding{
			Title:        fmt.Sprintf("external resolver: %s sent %d %s flows to %d resolvers outside the VPC", src, r.Int(1), kind, r.Int(2)),
			Severity:     Medium,
			Score:        logScore(float64(r.Int(1)), 3, 100000),
			MITRE:        []string{"T1071.004", "T1568"},
			Entity:       Entity{EntityIP, src},
			Counterparts: []string{r.Str(3), r.Str(4)},
			Ports:        []int{int(r.Int(7))},
			FirstSeen:    first, LastSeen: last,
			Evidence: map[string]any{"flows": r.Int(1), "resolvers": r.Int(2)},
			SQL:      evidenceSQL(first, last, eq("srcaddr", src), "dstport IN "+portList(env.Ports("ports")), "direction = 'outbound'"),
		})
		return nil
	})
	return out, err
}

func runIntel(ctx context.Context, env *Env) ([]Finding, error) {
	if env.Intel.Len() == 0 {
		return runIntelColumn(ctx, env) // lists applied at ingest, if any
	}
	from, to := env.window()
	sql := `SELECT CASE WHEN direction = 'inbound' THEN srcaddr ELSE dstaddr END AS peer,
  CASE WHEN direction = 'inbound' THEN dstaddr ELSE srcaddr END AS host,
  max(CASE WHEN direction = 'outbound' AND action = 'ACCEPT' AND ` + initiated + ` THEN 'outbound' ELSE 'inbound' END), count(*), sum(CASE WHEN action = 'ACCEPT' THEN 1 ELSE 0 END), CAST(sum(bytes) AS BIGINT), min(start), max("end"), min(dstport)
FROM vpc_flow_logs WHERE ` + inWindow + ` AND ` + okData + ` AND direction IN ('inbound', 'outbound')
GROUP BY CASE WHEN direction = 'inbound' THEN srcaddr ELSE dstaddr END, CASE WHEN direction = 'inbound' THEN dstaddr ELSE srcaddr END`
	type agg struct {
		f        *Finding
		outbound bool
		accepted int64
	}
	byPeer := map[string]*agg{}
	var order []string
	err := query(ctx, env.Q, "threat_intel", sql, []any{from, to}, func(r row) error {
		peer := r.Str(0)
		a, err := netip.ParseAddr(peer)
		if err != nil {
			return nil
		}
		list, ok := env.Intel.Lookup(a)
		if !ok {
			return nil
		}
		g := byPeer[peer]
		if g == nil {
			g = &agg{f: &Finding{Entity: Entity{EntityIP, peer}, Evidence: map[string]any{"list": list, "flows": int64(0), "bytes": int64(0)}, FirstSeen: ts(r.Int(6)), LastSeen: ts(r.Int(7))}}
			byPeer[peer] = g
			order = append(order, peer)
		}
		f := g.f
		f.Counterparts = append(f.Counterparts, r.Str(1))
		f.Evidence["flows"] = f.Evidence["flows"].(int64) + r.Int(3)
		f.Evidence["bytes"] = f.Evidence["bytes"].(int64) + r.Int(5)
		if r.Str(2) == "outbound" {
			g.outbound = true
		}
		g.accepted += r.Int(4)
		if t := ts(r.Int(6)); t.Before(f.FirstSeen) {
			f.FirstSeen = t
		}
		if t := ts(r.Int(7)); t.After(f.LastSeen) {
			f.LastSeen = t
		}
		f.Ports = append(f.Ports, int(r.Int(8)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, peer := range order {
		g := byPeer[peer]
		f := *g.f
		switch {
		case g.outbound && g.accepted > 0:
			f.Severity = High
			f.Title = fmt.Sprintf("threat intel: internal hosts contacted listed %s (%s)", peer, f.Evidence["list"])
		case g.accepted > 0:
			f.Severity = Medium
			f.Title = fmt.Sprintf("threat intel: listed %s reached internal hosts (%s)", peer, f.Evidence["list"])
		default:
			f.Severity = Low
			f.Title = fmt.Sprintf("threat intel: listed %s was blocked (%s)", peer, f.Evidence["list"])
		}
		f.Evidence["accepted_flows"] = g.accepted
		f.Score = float64(f.Severity) * 20
		f.MITRE = []string{"T1071"}
		if len(f.Ports) > 20 {
			f.Ports = f.Ports[:20]
		}
		f.SQL = evidenceSQL(f.FirstSeen, f.LastSeen, "("+eq("srcaddr", peer)+" OR "+eq("dstaddr", peer)+")")
		out = append(out, f)
	}
	return out, nil
}

func runUnusualPort(ctx context.Context, env *Env) ([]Finding, error) {
	common := env.Ports("common_ports")
	sql := `SELECT srcaddr, dstport, protocol, min(start), max("end"), CAST(sum(CASE WHEN start >= ? THEN bytes ELSE 0 END) AS BIGINT) AS b, count(DISTINCT dstaddr), min(dstaddr)
FROM vpc_flow_logs WHERE ` + inWindow + ` AND ` + okData + ` AND direction = 'outbound' AND action = 'ACCEPT' AND ` + initiated + `
GROUP BY srcaddr, dstport, protocol
HAVING min(start) >= ? AND sum(CASE WHEN start >= ? THEN bytes ELSE 0 END) >= ?
ORDER BY b DESC LIMIT ?`
	learnEnd := env.DataFrom.Add(env.learnPeriod())
	if learnEnd.Before(env.From) {
		learnEnd = env.From
	}
	var out []Finding
	err := query(ctx, env.Q, "unusual_port", sql, []any{env.From.Unix(), env.DataFrom.Unix(), env.To.Unix(), learnEnd.Unix(), env.From.Unix(), env.Int("min_bytes"), env.Int("max_findings")}, func(r row) error {
		src, port, proto := r.Str(0), int(r.Int(1)), r.Int(2)
		if slices.Contains(common, port) && (proto == 6 || proto == 17) {
			return nil
		}
		first, last := ts(r.Int(3)), ts(r.Int(4))
		what := fmt.Sprintf("port %d/%s", port, protoName(proto))
		if proto != 6 && proto != 17 {
			what = "protocol " + protoName(proto)
		}
		out = append(out, Finding{
			Title:        fmt.Sprintf("unusual port: %s started using %s (%s sent, %d destinations)", src, what, humanBytes(float64(r.Int(5))), r.Int(6)),
			Severity:     Low,
			Score:        logScore(float64(r.Int(5)), env.Float("min_bytes"), 1e10) / 2,
			MITRE:        []string{"T1571"},
			Entity:       Entity{EntityIP, src},
			Key:          what,
			Counterparts: []string{r.Str(7)},
			Ports:        []int{port},
			FirstSeen:    first, LastSeen: last,
			Evidence: map[string]any{"bytes": r.Int(5), "destinations": r.Int(6), "protocol": proto},
			SQL:      evidenceSQL(first, last, eq("srcaddr", src), eq("dstport", int64(port)), eq("protocol", proto)),
		})
		return nil
	})
	return out, err
}

func protoName(p int64) string {
	switch p {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case 58:
		return "icmpv6"
	}
	return fmt.Sprint(p)
}

var _ = strings.Join
