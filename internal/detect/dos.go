package detect

import (
	"context"
	"fmt"
	"strings"
)

func init() {
	Register(&builtin{
		name:  "dos_inbound",
		desc:  "Floods against an internal host: in some minute, many flows or packets from many sources, mostly half-open SYNs or REJECTs (SYN flood) or a packet flood.",
		mitre: []string{"T1498", "T1499", "T1499.001"},
		params: []Param{
			p("min_flows_per_minute", 50.0, "half-open flows to one host in one minute (SYN flood)"),
			p("min_sources", 30.0, "distinct sources in a SYN-flood minute"),
			p("min_packets_per_minute", 200000.0, "packets to one host in one minute (packet flood)"),
			p("max_packet_bytes", 300.0, "average packet size of a packet flood; bulk transfers use full packets"),
		},
		sev: High,
		run: runDoSInbound,
	})
	Register(&builtin{
		name:  "dos_outbound",
		desc:  "An internal host floods an external target: many packets per minute to one host with little coming back (outbound DoS, bandwidth hijacking); unlike GuardDuty, also internal targets.",
		mitre: []string{"T1498", "T1498.001", "T1496.002"},
		params: []Param{
			p("min_packets_per_minute", 100000.0, "packets from one host to one target in one minute (volumetric)"),
			p("max_packet_bytes", 300.0, "average packet size of a volumetric flood; bulk transfers use full packets"),
			p("min_syn_per_minute", 50.0, "half-open flows from one host to one target in one minute (SYN flood)"),
			p("min_udp_flows_per_minute", 4.0, "UDP flows per minute to a TCP service port (UDP-on-TCP-port flood)"),
			p("min_minutes", 3.0, "flood minutes needed"),
		},
		sev: High,
		run: runDoSOutbound,
	})
}

type floodMinute struct {
	minute, flows, packets, srcs, half int64
}

func runDoSInbound(ctx context.Context, env *Env) ([]Finding, error) {
	from, to := env.window()
	sql := `SELECT dstaddr, CAST(floor(start / 60) AS BIGINT) AS m, count(*), CAST(sum(packets) AS BIGINT), count(DISTINCT srcaddr),
  sum(CASE WHEN ` + halfOpen + ` THEN 1 ELSE 0 END)
FROM vpc_flow_logs WHERE ` + inWindow + ` AND ` + okData + ` AND direction IN ('inbound', 'internal') AND (` + initiated + ` OR protocol NOT IN (6))
  AND (flow_direction IS NULL OR flow_direction = 'ingress') AND {pass}
GROUP BY dstaddr, CAST(floor(start / 60) AS BIGINT)
HAVING (sum(CASE WHEN ` + halfOpen + ` THEN 1 ELSE 0 END) >= ? AND count(DISTINCT srcaddr) >= ?)
  OR (sum(packets) >= ? AND sum(bytes) <= ? * sum(packets))`
	byDst := map[string][]floodMinute{}
	var order []string
	err := inTimePasses(ctx, env, "dos_inbound", sql, from, to, []any{from, to, env.Int("min_flows_per_minute"), env.Int("min_sources"), env.Int("min_packets_per_minute"), env.Int("max_packet_bytes")}, func(r row) error {
		d := r.Str(0)
		if byDst[d] == nil {
			order = append(order, d)
		}
		byDst[d] = append(byDst[d], floodMinute{r.Int(1), r.Int(2), r.Int(3), r.Int(4), r.Int(5)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, d := range order {
		f := floodFinding(byDst[d])
		f.Entity = Entity{EntityIP, d}
		syn := f.Evidence["half_open_ratio"].(float64) >= 0.5
		kind := "packet flood"
		if syn {
			kind = "SYN flood"
		}
		f.Title = fmt.Sprintf("inbound DoS (%s): %s received up to %d flows/min from up to %d sources over %d minutes", kind, d, f.Evidence["peak_flows_per_minute"], f.Evidence["peak_sources"], f.Evidence["minutes"])
		f.MITRE = []string{"T1498", "T1499"}
		f.SQL = evidenceSQL(f.FirstSeen, f.LastSeen, eq("dstaddr", d))
		// Top sources, so the analyst sees who floods.
		err := query(ctx, env.Q, "dos_inbound", `SELECT srcaddr, count(*) AS n FROM vpc_flow_logs WHERE `+inWindow+` AND dstaddr = ? GROUP BY srcaddr ORDER BY n DESC, srcaddr LIMIT 20`,
			[]any{f.FirstSeen.Unix(), f.LastSeen.Unix() + 1, d}, func(r row) error {
				f.Counterparts = append(f.Counterparts, r.Str(0))
				return nil
			})
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func runDoSOutbound(ctx context.Context, env *Env) ([]Finding, error) {
	from, to := env.window()
	sql := `SELECT srcaddr, dstaddr, CAST(floor(start / 60) AS BIGINT) AS m, count(*), CAST(sum(packets) AS BIGINT), 1,
  sum(CASE WHEN ` + halfOpen + ` OR protocol <> 6 THEN 1 ELSE 0 END), min(protocol), min(dstport)
FROM vpc_flow_logs WHERE ` + inWindow + ` AND ` + okData + ` AND direction IN ('outbound', 'internal')
  AND (flow_direction IS NULL OR flow_direction = 'egress') AND (` + initiated + ` OR protocol NOT IN (6))
GROUP BY srcaddr, dstaddr, CAST(floor(start / 60) AS BIGINT)
HAVING (sum(packets) >= ? AND sum(bytes) <= ? * sum(packets))
  OR sum(CASE WHEN ` + halfOpen + ` THEN 1 ELSE 0 END) >= ?
  OR sum(CASE WHEN protocol = 17 AND dstport IN ` + portList(tcpServicePorts) + ` THEN 1 ELSE 0 END) >= ?`
	type key struct{ src, dst string }
	by := map[key][]floodMinute{}
	protos := map[key]string{}
	var order []key
	err := query(ctx, env.Q, "dos_outbound", sql, []any{from, to, env.Int("min_packets_per_minute"), env.Int("max_packet_bytes"), env.Int("min_syn_per_minute"), env.Int("min_udp_flows_per_minute")}, func(r row) error {
		k := key{r.Str(0), r.Str(1)}
		if by[k] == nil {
			order = append(order, k)
			protos[k] = fmt.Sprintf("protocol %d port %d", r.Int(7), r.Int(8))
		}
		by[k] = append(by[k], floodMinute{r.Int(2), r.Int(3), r.Int(4), r.Int(5), r.Int(6)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, k := range order {
		if len(by[k]) < int(env.Int("min_minutes")) {
			continue
		}
		f := floodFinding(by[k])
		f.Entity = Entity{EntityIP, k.src}
		f.Key = k.dst
		f.Counterparts = []string{k.dst}
		f.MITRE = []string{"T1498", "T1496.002"}
		f.Title = fmt.Sprintf("outbound DoS: %s sent up to %d packets/min to %s (%s) over %d minutes", k.src, f.Evidence["peak_packets_per_minute"], k.dst, protos[k], f.Evidence["minutes"])
		f.SQL = evidenceSQL(f.FirstSeen, f.LastSeen, eq("srcaddr", k.src), eq("dstaddr", k.dst))
		out = append(out, f)
	}
	return out, nil
}

func floodFinding(ms []floodMinute) Finding {
	var f Finding
	var peakF, peakP, peakS, flows, half int64
	first, last := ms[0].minute, ms[0].minute
	for _, m := range ms {
		peakF, peakP, peakS = max(peakF, m.flows), max(peakP, m.packets), max(peakS, m.srcs)
		flows += m.flows
		half += m.half
		first, last = min(first, m.minute), max(last, m.minute)
	}
	ratio := float64(half) / float64(max(flows, 1))
	f.FirstSeen, f.LastSeen = ts(first*60), ts(last*60+59)
	f.Severity = High
	f.Score = logScore(float64(peakP), 1000, 1e8)
	f.Evidence = map[string]any{
		"minutes": int64(len(ms)), "peak_flows_per_minute": peakF, "peak_packets_per_minute": peakP,
		"peak_sources": peakS, "half_open_ratio": float64(int(ratio*100)) / 100,
	}
	return f
}

var _ = strings.Join

// halfOpen is a TCP flow that only ever sent SYNs: a flood's signature
// when it carries many packets (a normal opening window also has a FIN,
// or continues with data).
const halfOpen = "(protocol = 6 AND tcp_flags = 2)"

// tcpServicePorts are ports that serve TCP only; UDP floods aimed at them
// are GuardDuty's DenialOfService.UdpOnTcpPorts.
var tcpServicePorts = []int{21, 22, 23, 25, 80, 110, 143, 443, 445, 993, 995, 3389, 8080, 8443}
