package detect

import (
	"context"
	"fmt"
	"github.com/flowhunt/flowhunt/internal/store"
	"math"
	"sort"
	"strings"
)

func init() {
	Register(&builtin{
		name:  "beaconing",
		desc:  "Periodic outbound connections (C2 beacons): RITA's timestamp, data-size, histogram and duration scores computed over connections stitched from flow records, so long sessions and jitter are handled.",
		mitre: []string{"T1071", "T1573", "T1029"},
		params: []Param{
			p("min_connections", 6.0, "stitched connections of one pair"),
			p("min_score", 0.75, "RITA-style score (0..1) to report"),
			p("high_score", 0.9, "score from which a beacon is high severity"),
			p("max_prevalence", 3.0, "peers contacted by more internal hosts than this are shared services, not C2"),
			p("max_gap_seconds", 120.0, "records of one 5-tuple further apart than this are separate connections"),
		},
		sev: High,
		run: runBeacon,
	})
	Register(&builtin{
		name:  "long_connection",
		desc:  "Outbound connections lasting hours after stitching (tunnels, C2 sessions, miners). Common service ports are reported as info.",
		mitre: []string{"T1071", "T1572", "T1090"},
		params: []Param{
			p("min_seconds", 4.0*3600, "duration of one stitched connection"),
			p("max_gap_seconds", 900.0, "records further apart than this are separate connections"),
			p("common_ports", []int{22, 443, 993, 5222, 5228}, "ports where long sessions are normal"),
		},
		sev: Medium,
		run: runLongConn,
	})
}

// pairConns fetches the records of outbound pairs passing the SQL gate and
// stitches them into connections per (host, peer, port, protocol).
func pairConns(ctx context.Context, env *Env, detector, having string, hargs []any, maxGap int64) (map[[4]string][]Conn, error) {
	from, to := env.window()
	gate := `SELECT srcaddr, dstaddr, dstport, protocol FROM vpc_flow_logs
WHERE ` + inWindow + ` AND ` + okData + ` AND direction = 'outbound' AND action = 'ACCEPT' AND ` + initiated + `
GROUP BY srcaddr, dstaddr, dstport, protocol HAVING ` + having
	// JOIN … USING with the key columns under their own names: ClickHouse
	// 18.16 refuses JOIN … ON over several columns of a subquery, and both
	// engines accept USING. Only the key columns come from g, so the
	// other columns need no qualifier.
	sql := `SELECT interface_id, srcaddr, dstaddr, srcport, dstport, protocol, start, "end", bytes, tcp_flags
FROM vpc_flow_logs AS v JOIN (` + gate + `) AS g USING (srcaddr, dstaddr, dstport, protocol)
WHERE start >= ? AND start < ? AND log_status = 'OK' AND direction = 'outbound'`
	// Ordered by pair, so that each pair is stitched as soon as its rows
	// are in and only its records are held: at 100 M records the gated
	// pairs had 3.4 M records, over 1 GiB of Go heap when held together.
	sql += "\nORDER BY srcaddr, dstaddr, dstport, protocol"
	args := append([]any{from, to}, hargs...)
	args = append(args, from, to)
	out := map[[4]string][]Conn{}
	var (
		cur [4]string
		buf []Slice
	)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if _, dup := out[cur]; dup {
			return fmt.Errorf("cannot stitch connections of detector %s: the rows of %v are not together", detector, cur)
		}
		out[cur] = Stitch(buf, maxGap)
		buf = buf[:0]
		return nil
	}
	err := query(ctx, env.Q, detector, sql, args, func(r row) error {
		k := [4]string{r.Str(1), r.Str(2), r.Str(4), r.Str(5)}
		if k != cur {
			if err := flush(); err != nil {
				return err
			}
			cur = k
		}
		fl := int64(-1)
		if !r.Null(9) {
			fl = r.Int(9)
		}
		buf = append(buf, Slice{Key: r.Str(0) + "|" + r.Str(3), Start: r.Int(6), End: r.Int(7), Bytes: r.Int(8), Flags: fl, Proto: r.Int(5)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

func runBeacon(ctx context.Context, env *Env) ([]Finding, error) {
	// Prevalence: a peer many internal hosts talk to is a shared service.
	having := `count(DISTINCT srcport) >= ? AND dstaddr NOT IN (SELECT dstaddr FROM vpc_flow_logs WHERE ` + inWindow + ` AND direction = 'outbound' GROUP BY dstaddr HAVING count(DISTINCT srcaddr) > ?)`
	from, to := env.window()
	conns, err := pairConns(ctx, env, "beaconing", having, []any{env.Int("min_connections"), from, to, env.Int("max_prevalence")}, env.Int("max_gap_seconds"))
	if err != nil {
		return nil, err
	}
	var out []Finding
	for k, cs := range conns {
		if len(cs) < int(env.Int("min_connections")) {
			continue
		}
		bs := BeaconScore(cs, from, to)
		if bs.Score < env.Float("min_score") {
			continue
		}
		sev := Medium
		if bs.Score >= env.Float("high_score") {
			sev = High
		}
		first, last := ts(cs[0].Start), ts(cs[len(cs)-1].End)
		port := int(store.Int64(k[2]))
		out = append(out, Finding{
			Title:        fmt.Sprintf("beaconing: %s calls %s every ~%ds (%d connections, score %.2f)", k[0], hostPort(k[1], port), int(bs.MedianInterval), len(cs), bs.Score),
			Severity:     sev,
			Score:        bs.Score * 100,
			MITRE:        []string{"T1071", "T1573"},
			Entity:       Entity{EntityIP, k[0]},
			Key:          hostPort(k[1], port) + "/" + k[3],
			Counterparts: []string{k[1]},
			Ports:        []int{port},
			FirstSeen:    first, LastSeen: last,
			Evidence: map[string]any{
				"connections": len(cs), "median_interval_s": bs.MedianInterval, "interval_mad_s": bs.IntervalMAD,
				"ts_score": bs.TS, "ds_score": bs.DS, "hist_score": bs.Hist, "dur_score": bs.Dur, "median_bytes": bs.MedianBytes,
			},
			SQL: evidenceSQL(first, last, eq("srcaddr", k[0]), eq("dstaddr", k[1]), eq("dstport", int64(port))),
		})
	}
	return out, nil
}

func runLongConn(ctx context.Context, env *Env) ([]Finding, error) {
	having := `max("end") - min(start) >= ?`
	conns, err := pairConns(ctx, env, "long_connection", having, []any{env.Int("min_seconds")}, env.Int("max_gap_seconds"))
	if err != nil {
		return nil, err
	}
	common := env.Ports("common_ports")
	var out []Finding
	for k, cs := range conns {
		var longest Conn
		var total int64
		for _, c := range cs {
			if c.End-c.Start > longest.End-longest.Start {
				longest = c
			}
			total += c.Bytes
		}
		d := longest.End - longest.Start
		if d < env.Int("min_seconds") {
			continue
		}
		port := int(store.Int64(k[2]))
		sev := Medium
		for _, c := range common {
			if c == port {
				sev = Info
			}
		}
		first, last := ts(longest.Start), ts(longest.End)
		out = append(out, Finding{
			Title:        fmt.Sprintf("long connection: %s held %s open for %.1f h", k[0], hostPort(k[1], port), float64(d)/3600),
			Severity:     sev,
			Score:        logScore(float64(d), float64(env.Int("min_seconds")), 86400) * 0.8,
			MITRE:        []string{"T1071", "T1572"},
			Entity:       Entity{EntityIP, k[0]},
			Key:          hostPort(k[1], port) + "/" + k[3],
			Counterparts: []string{k[1]},
			Ports:        []int{port},
			FirstSeen:    first, LastSeen: last,
			Evidence: map[string]any{"duration_s": d, "records": longest.Records, "bytes": longest.Bytes, "pair_bytes": total, "connections": len(cs)},
			SQL:      evidenceSQL(first, last, eq("srcaddr", k[0]), eq("dstaddr", k[1]), eq("dstport", int64(port))),
		})
	}
	return out, nil
}

// Beacon is the score of one pair's connections, after RITA v5 with flow-log
// adaptations: connections are stitched first, intervals of 0 s are dropped,
// the histogram spans the hunt window in hourly bins.
type Beacon struct {
	Score, TS, DS, Hist, Dur    float64
	MedianInterval, IntervalMAD float64
	MedianBytes                 float64
}

// BeaconScore scores connection start times and sizes between from and to
// (epoch seconds).
func BeaconScore(cs []Conn, from, to int64) Beacon {
	var b Beacon
	if len(cs) < 4 {
		return b
	}
	starts := make([]float64, 0, len(cs))
	sizes := make([]float64, 0, len(cs))
	for _, c := range cs {
		starts = append(starts, float64(c.Start))
		sizes = append(sizes, float64(c.Bytes))
	}
	sort.Float64s(starts)
	var iv []float64
	for i := 1; i < len(starts); i++ {
		if d := starts[i] - starts[i-1]; d > 0 {
			iv = append(iv, d)
		}
	}
	if len(iv) < 3 {
		return b
	}
	sort.Float64s(iv)
	sort.Float64s(sizes)
	b.TS, b.MedianInterval, b.IntervalMAD = dispersionScore(iv, 1)
	b.DS, b.MedianBytes, _ = dispersionScore(sizes, 0)

	// Histogram of connection counts per hour over the window.
	bins := int((to - from + 3599) / 3600)
	if bins < 1 {
		bins = 1
	}
	hist := make([]float64, bins)
	for _, s := range starts {
		i := int((int64(s) - from) / 3600)
		if i >= 0 && i < bins {
			hist[i]++
		}
	}
	// Only the span the pair was active is judged for regularity; the
	// coverage term of the duration score rewards a long span.
	lo, hi := int((int64(starts[0])-from)/3600), int((int64(starts[len(starts)-1])-from)/3600)
	lo, hi = max(lo, 0), min(hi, bins-1)
	active := hist[lo : hi+1]
	mean, sd := meanSD(active)
	cvScore := 0.0
	if mean > 0 && sd/mean <= 1 {
		cvScore = 1 - sd/mean
	}
	nonEmpty := 0
	for _, h := range active {
		if h > 0 {
			nonEmpty++
		}
	}
	b.Hist = round3(cvScore)
	if len(active) <= 2 {
		// Too short a span for an hourly histogram: judge by the intervals.
		b.Hist = b.TS
	}
	// Duration: coverage of the window and the longest run of active hours.
	coverage := math.Min(1, (starts[len(starts)-1]-starts[0])/math.Max(float64(to-from), 1))
	run, best := 0, 0
	for _, h := range hist {
		if h > 0 {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	consistency := math.Min(1, float64(best)/12)
	b.Dur = round3(math.Max(coverage, consistency))
	if nonEmpty == 0 {
		b.Dur = 0
	}
	b.Score = round3(0.25*b.TS + 0.25*b.DS + 0.25*b.Hist + 0.25*b.Dur)
	return b
}

// dispersionScore is RITA's (skew score + MAD score)/2 over sorted values.
func dispersionScore(v []float64, madDefault float64) (score, median, mad float64) {
	q1, q2, q3 := quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75)
	skew := 0.0
	if q3-q1 >= 10 && q2 != q1 && q2 != q3 {
		skew = (q1 + q3 - 2*q2) / (q3 - q1)
	}
	skewScore := 1 - math.Abs(skew)
	dev := make([]float64, len(v))
	for i, x := range v {
		dev[i] = math.Abs(x - q2)
	}
	sort.Float64s(dev)
	mad = quantile(dev, 0.5)
	madScore := madDefault
	if q2 >= 1 {
		madScore = math.Max(0, (q2-mad)/q2)
	}
	return round3((skewScore + madScore) / 2), q2, mad
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}

func meanSD(v []float64) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	m := s / float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(v)))
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

var _ = strings.TrimSpace
