package audit

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/flowhunt/flowhunt/internal/enrich"
)

// Selector picks addresses by what the inventory says about them. An
// address matches when it matches any listed item; an empty selector
// matches nothing unless Any is set.
type Selector struct {
	CIDRs     []string `yaml:"cidrs" json:"cidrs,omitempty"`
	Subnets   []string `yaml:"subnets" json:"subnets,omitempty"` // subnet ids or Name tags
	VPCs      []string `yaml:"vpcs" json:"vpcs,omitempty"`
	Groups    []string `yaml:"groups" json:"groups,omitempty"` // security group ids or names
	Roles     []string `yaml:"roles" json:"roles,omitempty"`
	Instances []string `yaml:"instances" json:"instances,omitempty"` // ids or Name tags
	Internet  bool     `yaml:"internet" json:"internet,omitempty"`   // any address outside the internal networks
	Any       bool     `yaml:"any" json:"any,omitempty"`

	prefixes []netip.Prefix
}

// PathRule is an allowed or forbidden path into a policy's destination.
type PathRule struct {
	From     Selector `yaml:"from" json:"from"`
	Ports    []string `yaml:"ports" json:"ports,omitempty"` // "5432", "8000-8100"; empty = all
	Protocol string   `yaml:"protocol" json:"protocol,omitempty"`

	proto  int
	ranges [][2]int
}

// Policy is a segmentation rule: what may (AllowOnly) or must not (Deny)
// reach the addresses selected by To.
type Policy struct {
	Name        string     `yaml:"name" json:"name"`
	Description string     `yaml:"description" json:"description,omitempty"`
	To          Selector   `yaml:"to" json:"to"`
	AllowOnly   []PathRule `yaml:"allow_only" json:"allow_only,omitempty"`
	Deny        []PathRule `yaml:"deny" json:"deny,omitempty"`
}

// policyFile is the YAML document.
type policyFile struct {
	Policies []Policy `yaml:"policies"`
}

// ParsePolicies reads a YAML policy document.
func ParsePolicies(name string, r io.Reader) ([]Policy, error) {
	b, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("cannot read policies %s: %w", name, err)
	}
	var f policyFile
	if err := yaml.UnmarshalWithOptions(b, &f, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("cannot parse policies %s: %w", name, err)
	}
	for i := range f.Policies {
		if err := f.Policies[i].validate(); err != nil {
			return nil, fmt.Errorf("cannot parse policies %s: %w", name, err)
		}
	}
	return f.Policies, nil
}

// LoadPolicies reads a YAML policy file.
func LoadPolicies(path string) ([]Policy, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open policies: %w", err)
	}
	defer fh.Close()
	return ParsePolicies(path, fh)
}

func (p *Policy) validate() error {
	if p.Name == "" {
		return fmt.Errorf("policy without a name")
	}
	if len(p.AllowOnly) == 0 && len(p.Deny) == 0 {
		return fmt.Errorf("policy %q: needs allow_only or deny", p.Name)
	}
	if err := p.To.compile(); err != nil {
		return fmt.Errorf("policy %q: to: %w", p.Name, err)
	}
	for _, rs := range [][]PathRule{p.AllowOnly, p.Deny} {
		for i := range rs {
			if err := rs[i].compile(); err != nil {
				return fmt.Errorf("policy %q: %w", p.Name, err)
			}
		}
	}
	return nil
}

func (s *Selector) compile() error {
	s.prefixes = s.prefixes[:0]
	for _, c := range s.CIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, err2 := netip.ParseAddr(c)
			if err2 != nil {
				return fmt.Errorf("cannot parse CIDR %q: %w", c, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		s.prefixes = append(s.prefixes, p.Masked())
	}
	return nil
}

func (r *PathRule) compile() error {
	if err := r.From.compile(); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	p, err := enrich.ParseProtocol(r.Protocol)
	if err != nil {
		return err
	}
	r.proto = p
	r.ranges = r.ranges[:0]
	for _, s := range r.Ports {
		lo, hi, found := strings.Cut(s, "-")
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		var err2 error
		if found {
			b, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err1 != nil || err2 != nil || a < 0 || b > 65535 || a > b {
			return fmt.Errorf("cannot parse port range %q: want N or N-M within 0-65535", s)
		}
		r.ranges = append(r.ranges, [2]int{a, b})
	}
	return nil
}

func (r *PathRule) matches(proto, port int) bool {
	if r.proto != enrich.AnyProtocol && r.proto != proto {
		return false
	}
	if len(r.ranges) == 0 {
		return true
	}
	for _, rg := range r.ranges {
		if port >= rg[0] && port <= rg[1] {
			return true
		}
	}
	return false
}

func (s *Selector) matches(inv *enrich.Inventory, a netip.Addr, internal func(netip.Addr) bool) bool {
	if s.Any {
		return true
	}
	if s.Internet && !internal(a) {
		return true
	}
	for _, p := range s.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	if len(s.Subnets)+len(s.VPCs)+len(s.Groups)+len(s.Roles)+len(s.Instances) == 0 {
		return false
	}
	if sub := inv.SubnetOf(a); sub != nil {
		if has(s.Subnets, sub.ID) || has(s.Subnets, sub.Name) || has(s.VPCs, sub.VPCID) {
			return true
		}
	}
	c, ok := inv.Lookup("", a)
	if !ok {
		return false
	}
	if has(s.VPCs, c.VPCID) || has(s.Roles, c.Role) || has(s.Instances, c.InstanceID) || has(s.Instances, c.Name) {
		return true
	}
	for _, g := range c.Groups {
		if has(s.Groups, g) {
			return true
		}
		if sg := inv.SecurityGroup(g); sg != nil && has(s.Groups, sg.Name) {
			return true
		}
	}
	return false
}

func has(list []string, v string) bool {
	if v == "" {
		return false
	}
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Violation is one connection that breaks a policy, with the flows that prove it.
type Violation struct {
	Policy    string    `json:"policy"`
	Kind      string    `json:"kind"` // not-allowed | denied
	Src       string    `json:"src"`
	SrcName   string    `json:"src_name,omitempty"`
	Dst       string    `json:"dst"`
	DstName   string    `json:"dst_name,omitempty"`
	Ports     string    `json:"ports"`
	Records   int64     `json:"records"`
	Bytes     int64     `json:"bytes"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Proof     []Flow    `json:"proof"`
	SQL       string    `json:"sql"`
}

// checkPolicies finds ACCEPTed connections into each policy's destination
// that no allow_only rule admits or that a deny rule forbids. A connection
// is logged on both ends' interfaces when both are in the VPC; it is
// reported once.
func checkPolicies(inv *enrich.Inventory, flows []Flow, cfg Config, internal func(netip.Addr) bool) []Violation {
	if len(cfg.Policies) == 0 {
		return nil
	}
	type key struct {
		policy      int
		from, to    netip.Addr
		proto, port int
	}
	found := map[key]*Violation{}
	for i := range flows {
		f := &flows[i]
		if f.Action != "ACCEPT" {
			continue
		}
		from, to := f.Src, f.Dst
		if !f.ToService {
			from, to = f.Dst, f.Src
		}
		for pi := range cfg.Policies {
			p := &cfg.Policies[pi]
			if !p.To.matches(inv, to, internal) || p.To.matches(inv, from, internal) && !p.To.Any {
				continue // not into the destination, or inside it
			}
			kind := ""
			for ri := range p.Deny {
				r := &p.Deny[ri]
				if r.matches(f.Protocol, f.ServicePort) && r.From.matches(inv, from, internal) {
					kind = "denied"
				}
			}
			if kind == "" && len(p.AllowOnly) > 0 {
				kind = "not-allowed"
				for ri := range p.AllowOnly {
					r := &p.AllowOnly[ri]
					if r.matches(f.Protocol, f.ServicePort) && r.From.matches(inv, from, internal) {
						kind = ""
						break
					}
				}
			}
			if kind == "" {
				continue
			}
			k := key{pi, from, to, f.Protocol, f.ServicePort}
			v := found[k]
			if v == nil {
				v = &Violation{Policy: p.Name, Kind: kind, Src: from.String(), Dst: to.String(),
					Ports:     enrich.PortText(f.Protocol, f.ServicePort, f.ServicePort),
					FirstSeen: time.Unix(f.First, 0).UTC(), LastSeen: time.Unix(f.Last, 0).UTC(),
					SQL: proofSQL(from, to, f.Protocol, f.ServicePort)}
				if c, ok := inv.Lookup("", from); ok {
					v.SrcName = c.Name
				}
				if c, ok := inv.Lookup("", to); ok {
					v.DstName = c.Name
				}
				found[k] = v
			}
			v.Records += f.Records
			v.Bytes += f.Bytes
			if t := time.Unix(f.First, 0).UTC(); t.Before(v.FirstSeen) {
				v.FirstSeen = t
			}
			if t := time.Unix(f.Last, 0).UTC(); t.After(v.LastSeen) {
				v.LastSeen = t
			}
			if len(v.Proof) < cfg.MaxProof {
				v.Proof = append(v.Proof, *f)
			}
		}
	}
	out := make([]Violation, 0, len(found))
	for _, v := range found {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Policy != b.Policy {
			return a.Policy < b.Policy
		}
		if a.Records != b.Records {
			return a.Records > b.Records
		}
		return a.Src+a.Dst+a.Ports < b.Src+b.Dst+b.Ports
	})
	return out
}

// proofSQL reproduces a violation's flows. The addresses come from parsed
// netip values and the numbers are ints, so nothing user-typed is pasted.
func proofSQL(from, to netip.Addr, proto, port int) string {
	return fmt.Sprintf(`SELECT interface_id, srcaddr, srcport, dstaddr, dstport, protocol, packets, bytes, start, "end", action
FROM vpc_flow_logs
WHERE action = 'ACCEPT' AND protocol = %d
  AND ((srcaddr = '%s' AND dstaddr = '%s' AND dstport = %d) OR (srcaddr = '%s' AND dstaddr = '%s' AND srcport = %d))
ORDER BY start LIMIT 100`, proto, from, to, port, to, from, port)
}
