package correlate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/store"
)

// Detector names of correlation findings.
const (
	DetSGExposure     = "sg_change_exposure"
	DetNACLExposure   = "nacl_change_exposure"
	DetFlowLogDeleted = "flow_log_deleted"
	DetLogGap         = "flow_log_gap"
	DetGuardDuty      = "guardduty"
)

// Config tunes correlation.
type Config struct {
	Internal       []netip.Prefix // default: inventory VPC CIDRs, else RFC 1918
	ExposureWindow time.Duration  // how long after a change to look for traffic through it; default 24h
	Skew           time.Duration  // clock and aggregation slack around events; default 10m
	GapMin         time.Duration  // shortest silence reported as a gap; default 20m
	SteadyCoverage float64        // share of the hour before a silence an interface must have logged in; default 0.9
	SensitivePorts []int          // ports whose exposure is critical
	BoostScore     float64        // added to a flowhunt finding GuardDuty agrees with; default 15
}

func (c *Config) defaults(inv *enrich.Inventory) {
	if len(c.Internal) == 0 && inv != nil {
		c.Internal = inv.InternalPrefixes()
	}
	if len(c.Internal) == 0 {
		for _, s := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"} {
			c.Internal = append(c.Internal, netip.MustParsePrefix(s))
		}
	}
	if c.ExposureWindow <= 0 {
		c.ExposureWindow = 24 * time.Hour
	}
	if c.Skew <= 0 {
		c.Skew = 10 * time.Minute
	}
	if c.GapMin <= 0 {
		c.GapMin = 20 * time.Minute
	}
	if c.SteadyCoverage <= 0 {
		c.SteadyCoverage = 0.9
	}
	if c.SensitivePorts == nil {
		c.SensitivePorts = []int{22, 3389, 3306, 5432, 1433, 1521, 27017, 6379, 9200, 2375, 445, 11211, 23, 21}
	}
	if c.BoostScore == 0 {
		c.BoostScore = 15
	}
}

func (c *Config) internal(a netip.Addr) bool {
	for _, p := range c.Internal {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Input is the context to correlate.
type Input struct {
	Inventory *enrich.Inventory // may be nil: changes cannot then be tied to ENIs
	Events    []Event
	GuardDuty []GuardDutyFinding
	Findings  []detect.Finding // flowhunt's own findings, to corroborate
}

// Result holds the correlation findings and the flowhunt findings that
// GuardDuty corroborated (copies with raised score and a link).
type Result struct {
	Findings     []detect.Finding
	Corroborated []detect.Finding
}

// Run correlates the input with the flows in q.
func Run(ctx context.Context, q store.Querier, in Input, cfg Config) (*Result, error) {
	cfg.defaults(in.Inventory)
	res := &Result{}
	sort.SliceStable(in.Events, func(i, j int) bool { return in.Events[i].EventTime.Before(in.Events[j].EventTime) })
	for _, op := range Openings(in.Events) {
		f, err := exposure(ctx, q, in.Inventory, op, &cfg)
		if err != nil {
			return nil, err
		}
		if f != nil {
			res.Findings = append(res.Findings, *f)
		}
	}
	fs, err := loggingFindings(ctx, q, in.Inventory, in.Events, &cfg)
	if err != nil {
		return nil, err
	}
	res.Findings = append(res.Findings, fs...)
	gd, corr, err := guardDutyFindings(ctx, q, in.GuardDuty, in.Findings, &cfg)
	if err != nil {
		return nil, err
	}
	res.Findings = append(res.Findings, gd...)
	res.Corroborated = corr
	detect.SortFindings(res.Findings)
	return res, nil
}

// Opening is a control-plane change that allowed new traffic.
type Opening struct {
	Event      *Event
	GroupID    string // security group change
	ACLID      string // network ACL change
	RuleNumber int
	Egress     bool
	Protocol   int
	FromPort   int // -1 = all
	ToPort     int
	CIDRs      []netip.Prefix
}

// Openings extracts the successful changes that opened paths:
// AuthorizeSecurityGroupIngress/Egress and allow entries of
// CreateNetworkAclEntry/ReplaceNetworkAclEntry.
func Openings(events []Event) []Opening {
	var out []Opening
	for i := range events {
		e := &events[i]
		if !e.Succeeded() {
			continue
		}
		switch e.EventName {
		case "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress":
			var rp struct {
				GroupID       string `json:"groupId"`
				IPPermissions struct {
					Items []struct {
						IPProtocol string `json:"ipProtocol"`
						FromPort   *int   `json:"fromPort"`
						ToPort     *int   `json:"toPort"`
						IPRanges   struct {
							Items []struct {
								CidrIP string `json:"cidrIp"`
							} `json:"items"`
						} `json:"ipRanges"`
						IPv6Ranges struct {
							Items []struct {
								CidrIPv6 string `json:"cidrIpv6"`
							} `json:"items"`
						} `json:"ipv6Ranges"`
					} `json:"items"`
				} `json:"ipPermissions"`
			}
			if json.Unmarshal(e.RequestParameters, &rp) != nil {
				continue
			}
			for _, p := range rp.IPPermissions.Items {
				proto, err := enrich.ParseProtocol(p.IPProtocol)
				if err != nil {
					continue
				}
				op := Opening{Event: e, GroupID: rp.GroupID, Egress: e.EventName == "AuthorizeSecurityGroupEgress", Protocol: proto, FromPort: -1, ToPort: -1}
				if p.FromPort != nil && p.ToPort != nil && proto != enrich.AnyProtocol {
					op.FromPort, op.ToPort = *p.FromPort, *p.ToPort
				}
				for _, r := range p.IPRanges.Items {
					if pf, err := netip.ParsePrefix(r.CidrIP); err == nil {
						op.CIDRs = append(op.CIDRs, pf.Masked())
					}
				}
				for _, r := range p.IPv6Ranges.Items {
					if pf, err := netip.ParsePrefix(r.CidrIPv6); err == nil {
						op.CIDRs = append(op.CIDRs, pf.Masked())
					}
				}
				if len(op.CIDRs) > 0 {
					out = append(out, op)
				}
			}
		case "CreateNetworkAclEntry", "ReplaceNetworkAclEntry":
			var rp struct {
				NetworkACLID  string `json:"networkAclId"`
				RuleNumber    int    `json:"ruleNumber"`
				Egress        bool   `json:"egress"`
				RuleAction    string `json:"ruleAction"`
				ACLProtocol   string `json:"aclProtocol"`
				CidrBlock     string `json:"cidrBlock"`
				IPv6CidrBlock string `json:"ipv6CidrBlock"`
				PortRange     *struct {
					From int `json:"from"`
					To   int `json:"to"`
				} `json:"portRange"`
			}
			if json.Unmarshal(e.RequestParameters, &rp) != nil || !strings.EqualFold(rp.RuleAction, "allow") {
				continue
			}
			proto, err := enrich.ParseProtocol(rp.ACLProtocol)
			if err != nil {
				continue
			}
			op := Opening{Event: e, ACLID: rp.NetworkACLID, RuleNumber: rp.RuleNumber, Egress: rp.Egress, Protocol: proto, FromPort: -1, ToPort: -1}
			if rp.PortRange != nil && proto != enrich.AnyProtocol {
				op.FromPort, op.ToPort = rp.PortRange.From, rp.PortRange.To
			}
			for _, c := range []string{rp.CidrBlock, rp.IPv6CidrBlock} {
				if pf, err := netip.ParsePrefix(c); err == nil {
					op.CIDRs = append(op.CIDRs, pf.Masked())
				}
			}
			if len(op.CIDRs) > 0 {
				out = append(out, op)
			}
		}
	}
	return out
}

// quote renders a string as a SQL literal. Only inventory ids reach it, for
// the reproducing SQL shown to users; queries run with parameters.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// exposure finds the first external connection a change let in.
func exposure(ctx context.Context, q store.Querier, inv *enrich.Inventory, op Opening, cfg *Config) (*detect.Finding, error) {
	if op.Egress || inv == nil {
		return nil, nil // outbound openings do not expose a service
	}
	external := false
	for _, p := range op.CIDRs {
		if !cfg.internal(p.Addr()) || p.Bits() == 0 {
			external = true
		}
	}
	if !external {
		return nil, nil
	}
	var enis []string
	what := ""
	switch {
	case op.GroupID != "":
		for _, e := range inv.ENIs {
			for _, g := range e.Groups {
				if g == op.GroupID {
					enis = append(enis, e.ID)
				}
			}
		}
		what = op.GroupID
		if g := inv.SecurityGroup(op.GroupID); g != nil && g.Name != "" {
			what += " (" + g.Name + ")"
		}
	default:
		for _, n := range inv.NetworkACLs {
			if n.ID != op.ACLID {
				continue
			}
			for _, s := range n.Subnets {
				for _, e := range inv.ENIs {
					if e.SubnetID == s {
						enis = append(enis, e.ID)
					}
				}
			}
		}
		what = fmt.Sprintf("%s rule %d", op.ACLID, op.RuleNumber)
	}
	if len(enis) == 0 {
		return nil, nil
	}
	sort.Strings(enis)
	at := op.Event.EventTime.UTC()
	cond := "action = 'ACCEPT' AND interface_id IN (" + placeholders(len(enis)) + ")"
	args := make([]any, 0, len(enis)+5)
	for _, e := range enis {
		args = append(args, e)
	}
	if op.FromPort >= 0 {
		cond += " AND dstport BETWEEN ? AND ?"
		args = append(args, op.FromPort, op.ToPort)
	}
	if op.Protocol != enrich.AnyProtocol {
		cond += " AND protocol = ?"
		args = append(args, op.Protocol)
	}
	after := append(append([]any{}, args...), at.Add(-cfg.Skew).Unix(), at.Add(cfg.ExposureWindow).Unix())
	rows, err := q.Query(ctx, `SELECT interface_id, srcaddr, srcport, dstaddr, dstport, start, "end", CAST(coalesce(bytes, 0) AS BIGINT)
FROM vpc_flow_logs WHERE `+cond+` AND start >= ? AND start <= ? ORDER BY start, srcaddr LIMIT 100000`, after...)
	if err != nil {
		return nil, fmt.Errorf("cannot query flows after %s %s: %w", op.Event.EventName, op.Event.EventID, err)
	}
	type conn struct {
		eni, src, dst      string
		sport, dport       int64
		start, end, nbytes int64
	}
	var first *conn
	sources := map[string]bool{}
	var records, lastEnd, totalBytes int64
	ports := map[int]bool{}
	for rows.Next() {
		var c conn
		var sp, dp, st, en, nb any
		if err := rows.Scan(&c.eni, &c.src, &sp, &c.dst, &dp, &st, &en, &nb); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cannot read flows after %s: %w", op.Event.EventID, err)
		}
		c.sport, c.dport, c.start, c.end, c.nbytes = store.Int64(sp), store.Int64(dp), store.Int64(st), store.Int64(en), store.Int64(nb)
		a, err := netip.ParseAddr(c.src)
		if err != nil || cfg.internal(a) || !inAny(op.CIDRs, a) {
			continue
		}
		if first == nil {
			cc := c
			first = &cc
		}
		sources[c.src] = true
		records++
		totalBytes += c.nbytes
		ports[int(c.dport)] = true
		lastEnd = max(lastEnd, c.end)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read flows after %s: %w", op.Event.EventID, err)
	}
	if first == nil {
		return nil, nil
	}
	// Traffic from outside already accepted before the change means the
	// change did not open this path; report it at a lower severity.
	before := append(append([]any{}, args...), at.Add(-cfg.ExposureWindow).Unix(), at.Add(-cfg.Skew).Unix())
	var prior int64
	prow, err := q.Query(ctx, `SELECT srcaddr, count(*) FROM vpc_flow_logs WHERE `+cond+` AND start >= ? AND start < ? GROUP BY srcaddr`, before...)
	if err != nil {
		return nil, fmt.Errorf("cannot query flows before %s %s: %w", op.Event.EventName, op.Event.EventID, err)
	}
	for prow.Next() {
		var src string
		var n any
		if err := prow.Scan(&src, &n); err != nil {
			prow.Close()
			return nil, fmt.Errorf("cannot read flows before %s: %w", op.Event.EventID, err)
		}
		if a, err := netip.ParseAddr(src); err == nil && !cfg.internal(a) && inAny(op.CIDRs, a) {
			prior += store.Int64(n)
		}
	}
	prow.Close()

	det := DetSGExposure
	if op.ACLID != "" {
		det = DetNACLExposure
	}
	portText := enrich.PortText(op.Protocol, op.FromPort, op.ToPort)
	sev, score := detect.High, 80.0
	sensitive := false
	for _, p := range cfg.SensitivePorts {
		if op.FromPort < 0 || (p >= op.FromPort && p <= op.ToPort) {
			sensitive = true
		}
	}
	if sensitive {
		sev, score = detect.Critical, 92
	}
	if prior > 0 {
		sev, score = detect.Medium, 50
	}
	firstAt := time.Unix(first.start, 0).UTC()
	target := first.dst
	name := ""
	if a, err := netip.ParseAddr(first.dst); err == nil {
		if c, ok := inv.Lookup(first.eni, a); ok {
			name = c.Name
			if c.InstanceID != "" {
				name = strings.TrimSpace(c.InstanceID + " " + c.Name)
			}
		}
	}
	cidrs := make([]string, len(op.CIDRs))
	for i, p := range op.CIDRs {
		cidrs[i] = p.String()
	}
	var counterparts []string
	for s := range sources {
		counterparts = append(counterparts, s)
	}
	sort.Strings(counterparts)
	if len(counterparts) > 50 {
		counterparts = counterparts[:50]
	}
	var portList []int
	for p := range ports {
		portList = append(portList, p)
	}
	sort.Ints(portList)
	delay := firstAt.Sub(at).Round(time.Second)
	who := op.Event.UserIdentity.ARN
	if who == "" {
		who = op.Event.UserIdentity.Type
	}
	f := detect.Finding{
		Detector: det,
		Title: fmt.Sprintf("%s on %s opened %s to %s; first external connection %s later: %s:%d -> %s:%d %s",
			op.Event.EventName, what, portText, strings.Join(cidrs, ","), delay, first.src, first.sport, first.dst, first.dport, name),
		Description: "A control-plane change opened a path from outside the internal networks, and external sources then connected through it.",
		Severity:    sev, Score: score,
		MITRE:        []string{"T1562.007", "T1133", "T1190"},
		Entity:       detect.Entity{Kind: detect.EntityIP, Value: target},
		Counterparts: counterparts,
		Ports:        portList,
		FirstSeen:    at,
		LastSeen:     time.Unix(max(lastEnd, first.end), 0).UTC(),
		Evidence: map[string]any{
			"cloudtrail_event_id":    op.Event.EventID,
			"cloudtrail_event_name":  op.Event.EventName,
			"cloudtrail_event_time":  at.Format(time.RFC3339),
			"changed_by":             who,
			"changed_from_ip":        op.Event.SourceIP,
			"change":                 what + " " + portText + " from " + strings.Join(cidrs, ","),
			"first_connection":       map[string]any{"time": firstAt.Format(time.RFC3339), "eni": first.eni, "src": first.src, "src_port": first.sport, "dst": first.dst, "dst_port": first.dport, "target": name},
			"delay_seconds":          int64(delay / time.Second),
			"external_sources":       len(sources),
			"accepted_records":       records,
			"accepted_bytes":         totalBytes,
			"prior_external_records": prior,
			"interfaces":             enis,
		},
		SQL:    reproduceSQL(enis, op, at.Add(-cfg.Skew)),
		Links:  []string{"cloudtrail:" + op.Event.EventID},
		Status: detect.StatusOpen,
		Key:    op.Event.EventID,
	}
	f.ID = detect.StableID(f.Detector, f.Entity, f.Key, f.FirstSeen)
	return &f, nil
}

func reproduceSQL(enis []string, op Opening, from time.Time) string {
	q := make([]string, len(enis))
	for i, e := range enis {
		q[i] = quote(e)
	}
	s := `SELECT start, interface_id, srcaddr, srcport, dstaddr, dstport, protocol, packets, bytes, action
FROM vpc_flow_logs
WHERE action = 'ACCEPT' AND interface_id IN (` + strings.Join(q, ", ") + `)`
	if op.FromPort >= 0 {
		s += fmt.Sprintf(" AND dstport BETWEEN %d AND %d", op.FromPort, op.ToPort)
	}
	if op.Protocol != enrich.AnyProtocol {
		s += fmt.Sprintf(" AND protocol = %d", op.Protocol)
	}
	return s + fmt.Sprintf(" AND start >= %d\nORDER BY start LIMIT 100", from.Unix())
}

func inAny(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// LoadCloudTrailDir reads every *.json and *.json.gz object under dir.
func LoadCloudTrailDir(dir string) ([]Event, error) {
	var out []Event
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".json.gz")) {
			return nil
		}
		fh, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("cannot open cloudtrail object: %w", err)
		}
		defer fh.Close()
		evs, err := ParseCloudTrail(fh, path)
		if err != nil {
			return err
		}
		out = append(out, evs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LoadGuardDutyFile reads one GuardDuty export.
func LoadGuardDutyFile(path string) ([]GuardDutyFinding, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open guardduty findings: %w", err)
	}
	defer fh.Close()
	return ParseGuardDuty(fh, path)
}
