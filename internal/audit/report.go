package audit

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/store"
)

// DefaultSensitivePorts are the ports whose exposure to the Internet is worst:
// remote administration, databases, caches, search, container APIs, SMB.
var DefaultSensitivePorts = []int{22, 3389, 3306, 5432, 1433, 1521, 27017, 6379, 9200, 9300, 2375, 2376, 445, 11211, 5984, 23, 21, 5900, 5985, 5986}

// Config says what to audit.
type Config struct {
	From, To       time.Time      // window on flow start; zero means unbounded
	Internal       []netip.Prefix // internal networks; default: the VPC CIDRs of the inventory
	SensitivePorts []int          // default DefaultSensitivePorts
	Policies       []Policy       // segmentation policies to check
	MaxItems       int            // cap of each list but Rules and Unused; default 50
	MaxProof       int            // proof flows per violation; default 5
}

// Validate checks the config and fills defaults.
func (c *Config) Validate(inv *enrich.Inventory) error {
	if !c.From.IsZero() && !c.To.IsZero() && !c.To.After(c.From) {
		return fmt.Errorf("cannot audit window %s..%s: --to must be after --from", c.From.Format(time.RFC3339), c.To.Format(time.RFC3339))
	}
	if len(c.Internal) == 0 {
		c.Internal = inv.InternalPrefixes()
	}
	if c.SensitivePorts == nil {
		c.SensitivePorts = DefaultSensitivePorts
	}
	if c.MaxItems <= 0 {
		c.MaxItems = 50
	}
	if c.MaxProof <= 0 {
		c.MaxProof = 5
	}
	for i := range c.Policies {
		if err := c.Policies[i].validate(); err != nil {
			return err
		}
	}
	return nil
}

// Flow is one aggregated row of observed traffic: all records of one
// interface, address pair, protocol, action, flow direction and service
// port. ToService says which of the two ports is the service: the packets
// travel towards it (the destination port is the service) or come from it.
type Flow struct {
	ENI              string
	Src, Dst         netip.Addr
	Protocol         int
	Action           string
	ToService        bool // the packets travel towards the service port (the destination port is the service)
	ServicePort      int
	EphemeralMin     int
	EphemeralMax     int
	Records, Packets int64
	Bytes            int64
	First, Last      int64  // epoch seconds
	Direction        string // flow-direction (v5+): ingress, egress, or "" when not logged
}

// observeSQL aggregates flows per interface, address pair, protocol, action,
// packet direction and service port. Grouping on the opener's ephemeral port
// would explode the row count, so each record first learns which of its two
// ports is the service, from the best evidence it has:
//
//  1. TCP flags: a SYN-ACK (18) is only sent by the side that accepted the
//     connection, so its source port is the service; a SYN without it is
//     only sent by the opener, so its destination port is the service.
//  2. Listening ports observed: an address and port that sent a SYN-ACK in
//     the window is a server; records of the same connection without flags
//     (later aggregation windows, FIN or RST only) take that side.
//  3. The port heuristic, last: the lower port is the service (openers
//     usually pick ephemeral ports above the service's). Load balancers and
//     NAT pick from 1024-65535, so this guess alone misreads them.
//
// The SQL runs on DuckDB and on ClickHouse 18.16, which has no CTEs, one
// JOIN per SELECT and no JOIN … ON over several columns of a subquery: the
// two lookups of the listening set are nested LEFT JOINs … USING, each
// listening subquery naming its columns after the side it matches (its
// srcaddr as dstaddr for the destination lookup), and a matched row carries
// a 1 that is NULL (or 0 without join_use_nulls) otherwise. DISTINCT keeps
// the joins from multiplying records.
const observeSQL = `SELECT interface_id, srcaddr, dstaddr, protocol, action, to_svc,
  CASE WHEN to_svc THEN dp ELSE sp END AS svc_port,
  min(CASE WHEN to_svc THEN sp ELSE dp END) AS eph_min,
  max(CASE WHEN to_svc THEN sp ELSE dp END) AS eph_max,
  count(*) AS records,
  CAST(coalesce(sum(packets), 0) AS BIGINT) AS packets,
  CAST(coalesce(sum(bytes), 0) AS BIGINT) AS bytes,
  min(start) AS first_seen, max("end") AS last_seen,
  coalesce(flow_direction, '') AS flow_dir
FROM (
  SELECT interface_id, srcaddr, dstaddr, protocol, action, flow_direction, sp, dp,
    packets, bytes, start, "end", CASE
      WHEN protocol = 6 AND tcp_flags & 18 = 18 THEN false
      WHEN protocol = 6 AND tcp_flags & 2 = 2 THEN true
      WHEN coalesce(dst_listens, 0) = 1 AND coalesce(src_listens, 0) = 0 THEN true
      WHEN coalesce(src_listens, 0) = 1 AND coalesce(dst_listens, 0) = 0 THEN false
      ELSE dp <= sp
    END AS to_svc
  FROM (
    SELECT interface_id, srcaddr, dstaddr, protocol, action, flow_direction, sp, dp,
      tcp_flags, packets, bytes, start, "end", dst_listens
    FROM (
      SELECT interface_id, srcaddr, dstaddr, protocol, action, flow_direction,
        coalesce(srcport, 0) AS sp, coalesce(dstport, 0) AS dp, tcp_flags,
        packets, bytes, start, "end"
      FROM vpc_flow_logs
      WHERE action IS NOT NULL AND interface_id IS NOT NULL AND srcaddr IS NOT NULL AND dstaddr IS NOT NULL
        AND start >= ? AND start < ?
    ) AS w
    LEFT JOIN (
      SELECT DISTINCT protocol, srcaddr AS dstaddr, coalesce(srcport, 0) AS dp, 1 AS dst_listens
      FROM vpc_flow_logs
      WHERE protocol = 6 AND tcp_flags & 18 = 18 AND action IS NOT NULL AND interface_id IS NOT NULL
        AND srcaddr IS NOT NULL AND dstaddr IS NOT NULL AND start >= ? AND start < ?
    ) AS ld USING (protocol, dstaddr, dp)
  ) AS wd
  LEFT JOIN (
    SELECT DISTINCT protocol, srcaddr, coalesce(srcport, 0) AS sp, 1 AS src_listens
    FROM vpc_flow_logs
    WHERE protocol = 6 AND tcp_flags & 18 = 18 AND action IS NOT NULL AND interface_id IS NOT NULL
        AND srcaddr IS NOT NULL AND dstaddr IS NOT NULL AND start >= ? AND start < ?
  ) AS ls USING (protocol, srcaddr, sp)
) AS judged
GROUP BY interface_id, srcaddr, dstaddr, protocol, action, to_svc, svc_port, flow_direction`

// Observe reads the aggregated flows of the window from a store.
func Observe(ctx context.Context, q store.Querier, from, to time.Time) ([]Flow, error) {
	lo, hi := int64(0), int64(1)<<62
	if !from.IsZero() {
		lo = from.Unix()
	}
	if !to.IsZero() {
		hi = to.Unix()
	}
	rows, err := q.Query(ctx, observeSQL, lo, hi, lo, hi, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("cannot query observed flows: %w", err)
	}
	defer rows.Close()
	var out []Flow
	vals := make([]any, 15)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("cannot read observed flows: %w", err)
		}
		var f Flow
		f.ENI, _ = vals[0].(string)
		s, _ := vals[1].(string)
		d, _ := vals[2].(string)
		var e1, e2 error
		f.Src, e1 = netip.ParseAddr(s)
		f.Dst, e2 = netip.ParseAddr(d)
		if e1 != nil || e2 != nil {
			continue // '-' or garbage addresses cannot be judged
		}
		f.Protocol = int(store.Int64(vals[3]))
		f.Action, _ = vals[4].(string)
		switch v := vals[5].(type) { // a bool on DuckDB, UInt8 on ClickHouse
		case bool:
			f.ToService = v
		default:
			f.ToService = store.Int64(v) != 0
		}
		f.ServicePort = int(store.Int64(vals[6]))
		f.EphemeralMin, f.EphemeralMax = int(store.Int64(vals[7])), int(store.Int64(vals[8]))
		f.Records, f.Packets, f.Bytes = store.Int64(vals[9]), store.Int64(vals[10]), store.Int64(vals[11])
		f.First, f.Last = store.Int64(vals[12]), store.Int64(vals[13])
		f.Direction, _ = vals[14].(string)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read observed flows: %w", err)
	}
	return out, nil
}

// Conn turns an aggregated flow into the connection view of the interface
// it was logged on. ok is false when neither address belongs to the ENI
// (traffic through a NAT gateway or a load balancer logged with other
// addresses).
func (f *Flow) Conn(inv *enrich.Inventory) (c Conn, ok bool) {
	eni := inv.ENIByID(f.ENI)
	if eni == nil {
		return c, false
	}
	c = Conn{ENI: f.ENI, Protocol: f.Protocol}
	srcPort, dstPort := f.EphemeralMin, f.ServicePort
	if !f.ToService {
		srcPort, dstPort = f.ServicePort, f.EphemeralMin
	}
	// flow-direction, when logged, says which way the packet went even when
	// both addresses are the interface's own (hairpin through a public IP);
	// the addresses decide otherwise.
	ingress, egress := hasAddr(eni, f.Dst), hasAddr(eni, f.Src)
	switch {
	case f.Direction == "egress" && egress:
		ingress = false
	case f.Direction == "ingress" && ingress:
		egress = false
	}
	switch {
	case ingress:
		c.Remote, c.LocalPort, c.RemotePort = f.Src, dstPort, srcPort
	case egress:
		c.Egress = true
		c.Remote, c.LocalPort, c.RemotePort = f.Dst, srcPort, dstPort
	default:
		return c, false
	}
	c.LocalOpened = c.Egress == f.ToService
	return c, true
}

func hasAddr(e *enrich.ENI, a netip.Addr) bool {
	for _, x := range e.Addrs {
		if x == a {
			return true
		}
	}
	for _, x := range e.PublicAddrs {
		if x == a {
			return true
		}
	}
	return false
}

// RuleUsage is how much traffic one security group rule let in or out.
type RuleUsage struct {
	RuleID        string    `json:"rule_id"`
	GroupID       string    `json:"group_id"`
	GroupName     string    `json:"group_name"`
	Direction     string    `json:"direction"` // ingress | egress
	Ports         string    `json:"ports"`
	Peer          string    `json:"peer"`
	Description   string    `json:"description,omitempty"`
	Open          bool      `json:"open_to_world"`
	Sensitive     []int     `json:"sensitive_ports,omitempty"`
	ENIs          int       `json:"enis"` // interfaces in the group
	Records       int64     `json:"records"`
	Bytes         int64     `json:"bytes"`
	Peers         int       `json:"peers"`
	ExternalPeers int       `json:"external_peers"`
	FirstSeen     time.Time `json:"first_seen,omitzero"`
	LastSeen      time.Time `json:"last_seen,omitzero"`
	TopPeers      []string  `json:"top_peers,omitempty"`

	peers map[netip.Addr]int64
}

// NACLUsage is how often one network ACL entry decided a packet.
type NACLUsage struct {
	ACL       string `json:"acl"`
	Rule      string `json:"rule"`
	Direction string `json:"direction"`
	Action    string `json:"action"`
	Ports     string `json:"ports"`
	CIDR      string `json:"cidr"`
	Records   int64  `json:"records"`
}

// Reject is a group of REJECTed flows and what decided them.
type Reject struct {
	ENI       string    `json:"eni"`
	Name      string    `json:"name,omitempty"`
	Direction string    `json:"direction"` // ingress | egress, of the packet
	Reply     bool      `json:"reply"`     // the packet was return traffic
	Ports     string    `json:"ports"`     // protocol and the packet's destination port
	By        string    `json:"by"`        // security-group | network-acl | unexplained
	Rule      string    `json:"rule"`
	Records   int64     `json:"records"`
	Remotes   int       `json:"remotes"`
	Sample    string    `json:"sample_remote"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`

	remotes map[netip.Addr]struct{}
}

// Unexplained is ACCEPTed traffic the loaded rules would not allow.
type Unexplained struct {
	ENI       string    `json:"eni"`
	Name      string    `json:"name,omitempty"`
	Direction string    `json:"direction"`
	Remote    string    `json:"remote"`
	Ports     string    `json:"ports"`
	Reason    string    `json:"reason"`
	Records   int64     `json:"records"`
	FirstSeen time.Time `json:"first_seen"`
}

// Report is the result of an audit.
type Report struct {
	From              time.Time     `json:"from,omitzero"`
	To                time.Time     `json:"to,omitzero"`
	Records           int64         `json:"records"`
	UnknownENIRecords int64         `json:"unknown_eni_records"` // on interfaces missing from the inventory
	TransitRecords    int64         `json:"transit_records"`     // addresses not the interface's own
	Rules             []RuleUsage   `json:"rules"`
	Unused            []RuleUsage   `json:"unused"`
	OpenUsed          []RuleUsage   `json:"open_used"`
	NACL              []NACLUsage   `json:"nacl"`
	Rejects           []Reject      `json:"rejects"`
	RejectsTotal      int           `json:"rejects_total"`
	Unexplained       []Unexplained `json:"unexplained"`
	UnexplainedTotal  int           `json:"unexplained_total"`
	Violations        []Violation   `json:"violations"`
}

// Run observes the window and audits it.
func Run(ctx context.Context, q store.Querier, inv *enrich.Inventory, cfg Config) (*Report, error) {
	if err := cfg.Validate(inv); err != nil {
		return nil, err
	}
	flows, err := Observe(ctx, q, cfg.From, cfg.To)
	if err != nil {
		return nil, err
	}
	return Audit(inv, flows, cfg)
}

// ErrNoInventory is returned when the audit has no security group to judge by.
var ErrNoInventory = errors.New("the inventory has no security group")

// Audit judges aggregated flows against the inventory.
func Audit(inv *enrich.Inventory, flows []Flow, cfg Config) (*Report, error) {
	if err := cfg.Validate(inv); err != nil {
		return nil, err
	}
	if len(inv.SecurityGroups) == 0 {
		return nil, fmt.Errorf("cannot audit: %w", ErrNoInventory)
	}
	ev := NewEvaluator(inv)
	rep := &Report{From: cfg.From, To: cfg.To}
	internal := func(a netip.Addr) bool {
		for _, p := range cfg.Internal {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}

	usage := map[*enrich.SGRule]*RuleUsage{}
	for _, g := range inv.SecurityGroups {
		members := 0
		for _, e := range inv.ENIs {
			for _, id := range e.Groups {
				if id == g.ID {
					members++
				}
			}
		}
		for i := range g.Rules {
			r := &g.Rules[i]
			u := &RuleUsage{RuleID: r.ID, GroupID: g.ID, GroupName: g.Name, Direction: "ingress", Ports: r.PortText(),
				Peer: r.Peer(), Description: r.Description, Open: r.Open(), ENIs: members, peers: map[netip.Addr]int64{}}
			if r.Egress {
				u.Direction = "egress"
			}
			for _, p := range cfg.SensitivePorts {
				if covers(r, p) {
					u.Sensitive = append(u.Sensitive, p)
				}
			}
			usage[r] = u
		}
	}
	type naclKey struct {
		acl *enrich.NetworkACL
		en  *enrich.NACLEntry
	}
	nacl := map[naclKey]int64{}
	type rejectKey struct {
		eni, dir, ports, by, rule string
		reply                     bool
	}
	rejects := map[rejectKey]*Reject{}
	type unexplKey struct {
		eni, dir, ports, reason string
		remote                  netip.Addr
	}
	unexpl := map[unexplKey]*Unexplained{}

	for i := range flows {
		f := &flows[i]
		rep.Records += f.Records
		c, ok := f.Conn(inv)
		if !ok {
			if inv.ENIByID(f.ENI) == nil {
				rep.UnknownENIRecords += f.Records
			} else {
				rep.TransitRecords += f.Records
			}
			continue
		}
		v := ev.Evaluate(c)
		if v.NACLApplies && v.NACLEntry != nil {
			nacl[naclKey{v.NACL, v.NACLEntry}] += f.Records
		}
		dir := "ingress"
		dstPort := c.LocalPort
		if c.Egress {
			dir, dstPort = "egress", c.RemotePort
		}
		ports := enrich.PortText(c.Protocol, dstPort, dstPort)
		if c.Protocol != enrich.ProtoTCP && c.Protocol != enrich.ProtoUDP {
			ports = enrich.ProtoName(c.Protocol)
		}
		switch {
		case f.Action == "ACCEPT" && v.Allowed:
			if !c.Request() {
				break // replies ride on the connection's state; the opening direction counts
			}
			for _, r := range v.SGRules {
				u := usage[r]
				u.Records += f.Records
				u.Bytes += f.Bytes
				u.peers[c.Remote] += f.Records
				first, last := time.Unix(f.First, 0).UTC(), time.Unix(f.Last, 0).UTC()
				if u.FirstSeen.IsZero() || first.Before(u.FirstSeen) {
					u.FirstSeen = first
				}
				if last.After(u.LastSeen) {
					u.LastSeen = last
				}
			}
		case f.Action == "ACCEPT":
			reason := "no security group rule allows it"
			if v.SGAllowed {
				reason = "network ACL " + v.NACL.ID + " denies it"
				if v.NACLEntry != nil {
					reason += " (rule " + v.NACLEntry.RuleText() + ")"
				}
			}
			k := unexplKey{f.ENI, dir, ports, reason, c.Remote}
			u := unexpl[k]
			if u == nil {
				u = &Unexplained{ENI: f.ENI, Direction: dir, Remote: c.Remote.String(), Ports: ports, Reason: reason, FirstSeen: time.Unix(f.First, 0).UTC()}
				unexpl[k] = u
			}
			u.Records += f.Records
		case f.Action == "REJECT":
			by, rule := v.DeniedBy, ""
			switch {
			case v.Allowed:
				by, rule = "unexplained", "the loaded rules allow it (stale inventory, or a host firewall)"
			case by == ByNetworkACL && v.NACLEntry != nil:
				rule = v.NACL.ID + " rule " + v.NACLEntry.RuleText()
			case by == ByNetworkACL:
				rule = v.NACL.ID + " (no matching entry)"
			default:
				eni := inv.ENIByID(f.ENI)
				rule = "no allow rule in " + joinIDs(eni.Groups)
			}
			k := rejectKey{f.ENI, dir, ports, by, rule, !c.Request()}
			r := rejects[k]
			if r == nil {
				r = &Reject{ENI: f.ENI, Direction: dir, Reply: !c.Request(), Ports: ports, By: by, Rule: rule,
					Sample: c.Remote.String(), FirstSeen: time.Unix(f.First, 0).UTC(), remotes: map[netip.Addr]struct{}{}}
				rejects[k] = r
			}
			r.Records += f.Records
			r.remotes[c.Remote] = struct{}{}
			// The sample is the earliest remote (the lowest address on a
			// tie), so the report does not depend on the store's row order.
			if t := time.Unix(f.First, 0).UTC(); t.Before(r.FirstSeen) || t.Equal(r.FirstSeen) && c.Remote.String() < r.Sample {
				r.FirstSeen, r.Sample = t, c.Remote.String()
			}
			if t := time.Unix(f.Last, 0).UTC(); t.After(r.LastSeen) {
				r.LastSeen = t
			}
		}
	}

	// Rules in inventory order; unused and open-and-used derived from them.
	for _, g := range inv.SecurityGroups {
		for i := range g.Rules {
			u := usage[&g.Rules[i]]
			u.Peers = len(u.peers)
			type pc struct {
				a netip.Addr
				n int64
			}
			var top []pc
			for a, n := range u.peers {
				if !internal(a) {
					u.ExternalPeers++
				}
				top = append(top, pc{a, n})
			}
			sort.Slice(top, func(i, j int) bool {
				if top[i].n != top[j].n {
					return top[i].n > top[j].n
				}
				return top[i].a.Less(top[j].a)
			})
			for j := 0; j < len(top) && j < 5; j++ {
				u.TopPeers = append(u.TopPeers, top[j].a.String())
			}
			rep.Rules = append(rep.Rules, *u)
			if u.Records == 0 {
				rep.Unused = append(rep.Unused, *u)
			}
			if u.Open && u.Direction == "ingress" && u.ExternalPeers > 0 {
				rep.OpenUsed = append(rep.OpenUsed, *u)
			}
		}
	}
	sort.SliceStable(rep.OpenUsed, func(i, j int) bool {
		a, b := rep.OpenUsed[i], rep.OpenUsed[j]
		if sa, sb := exposureRank(a, cfg.SensitivePorts), exposureRank(b, cfg.SensitivePorts); sa != sb {
			return sa < sb
		}
		if a.ExternalPeers != b.ExternalPeers {
			return a.ExternalPeers > b.ExternalPeers
		}
		return a.Records > b.Records
	})

	for k, n := range nacl {
		d, act := "ingress", "deny"
		if k.en.Egress {
			d = "egress"
		}
		if k.en.Allow {
			act = "allow"
		}
		rep.NACL = append(rep.NACL, NACLUsage{ACL: k.acl.ID, Rule: k.en.RuleText(), Direction: d, Action: act,
			Ports: enrich.PortText(k.en.Protocol, k.en.FromPort, k.en.ToPort), CIDR: k.en.CIDR.String(), Records: n})
	}
	sort.Slice(rep.NACL, func(i, j int) bool {
		a, b := rep.NACL[i], rep.NACL[j]
		if a.ACL != b.ACL {
			return a.ACL < b.ACL
		}
		if a.Direction != b.Direction {
			return a.Direction > b.Direction
		}
		return ruleNum(a.Rule) < ruleNum(b.Rule)
	})

	for _, r := range rejects {
		r.Remotes = len(r.remotes)
		if c, ok := inv.Lookup(r.ENI, netip.Addr{}); ok {
			r.Name = c.Name
		}
		rep.Rejects = append(rep.Rejects, *r)
	}
	sort.Slice(rep.Rejects, func(i, j int) bool {
		a, b := rep.Rejects[i], rep.Rejects[j]
		if a.Records != b.Records {
			return a.Records > b.Records
		}
		return a.ENI+a.Ports+a.Rule < b.ENI+b.Ports+b.Rule
	})
	rep.RejectsTotal = len(rep.Rejects)
	if len(rep.Rejects) > cfg.MaxItems {
		rep.Rejects = rep.Rejects[:cfg.MaxItems]
	}
	for _, u := range unexpl {
		if c, ok := inv.Lookup(u.ENI, netip.Addr{}); ok {
			u.Name = c.Name
		}
		rep.Unexplained = append(rep.Unexplained, *u)
	}
	sort.Slice(rep.Unexplained, func(i, j int) bool {
		a, b := rep.Unexplained[i], rep.Unexplained[j]
		if a.Records != b.Records {
			return a.Records > b.Records
		}
		return a.ENI+a.Remote+a.Ports < b.ENI+b.Remote+b.Ports
	})
	rep.UnexplainedTotal = len(rep.Unexplained)
	if len(rep.Unexplained) > cfg.MaxItems {
		rep.Unexplained = rep.Unexplained[:cfg.MaxItems]
	}
	rep.Violations = checkPolicies(inv, flows, cfg, internal)
	return rep, nil
}

// exposureRank orders open rules worst first: all traffic, then by the
// first sensitive port they cover (in the configured order), then the rest.
func exposureRank(u RuleUsage, sensitive []int) int {
	if u.Ports == "all" || len(u.Ports) > 4 && u.Ports[len(u.Ports)-4:] == "/all" {
		return -1
	}
	best := len(sensitive)
	for _, p := range u.Sensitive {
		for i, s := range sensitive {
			if s == p && i < best {
				best = i
			}
		}
	}
	return best
}

func covers(r *enrich.SGRule, port int) bool {
	if r.Protocol == enrich.AnyProtocol {
		return true
	}
	if r.Protocol != enrich.ProtoTCP && r.Protocol != enrich.ProtoUDP {
		return false
	}
	return r.FromPort < 0 || (port >= r.FromPort && port <= r.ToPort)
}

func ruleNum(s string) int {
	if s == "*" {
		return 32767
	}
	n := 0
	fmt.Sscan(s, &n)
	return n
}

func joinIDs(ids []string) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += "+"
		}
		s += id
	}
	return s
}
