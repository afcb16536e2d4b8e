package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"

	"github.com/flowhunt/flowhunt/internal/flowlog"
)

// Role is what an ENI does in the simulated account.
type Role string

const (
	RoleWeb       Role = "web"
	RoleApp       Role = "app"
	RoleDB        Role = "db"
	RoleLegacyDB  Role = "legacy-db"
	RoleBastion   Role = "bastion"
	RoleNAT       Role = "nat-gateway"
	RoleLB        Role = "load-balancer"
	RoleIdle      Role = "idle"
	RoleScanner   Role = "vuln-scanner"
	RoleMonitor   Role = "monitoring"
	RoleAnalytics Role = "analytics"
)

// VPC is one simulated VPC and its flow log.
type VPC struct {
	ID, Name  string
	CIDR      netip.Prefix
	CIDR6     netip.Prefix   // the VPC's Amazon-provided IPv6 /56
	FlowLogID string         // flow log delivering this VPC's records to S3
	Layout    flowlog.Layout // the flow log's LogFormat
	Interval  int64          // aggregation interval in seconds (600 or 60)
	Subnets   []*Subnet
	NACLs     []*NACL
	index     int
}

// Subnet is one subnet of a VPC.
type Subnet struct {
	ID, Name string
	CIDR     netip.Prefix
	CIDR6    netip.Prefix // a /64 of the VPC's /56
	AZ, AZID string
	Public   bool
	VPC      *VPC
	NACL     *NACL
	next     int // next host number to allocate
}

// NACLEntry is one network ACL rule.
type NACLEntry struct {
	Rule     int
	Egress   bool
	Protocol string // "-1", "6", "17"
	Allow    bool
	CIDR     string
	From, To int // port range; 0,0 = all
	prefix   netip.Prefix
}

// NACL is a network ACL and its entries.
type NACL struct {
	ID        string
	VPC       *VPC
	IsDefault bool
	Entries   []NACLEntry
	Subnets   []*Subnet
}

// SGRule is one security group permission.
type SGRule struct {
	Proto    string // "tcp", "udp", "-1"
	From, To int
	CIDRs    []string
	Groups   []*SecurityGroup
	Desc     string
	Since    int64  // unix seconds the rule exists from; 0 = always
	RuleID   string // sgr-…
	prefixes []netip.Prefix
}

// SecurityGroup is a security group with its rules.
type SecurityGroup struct {
	ID, Name, Desc string
	VPC            *VPC
	Ingress        []*SGRule
	Egress         []*SGRule
}

// ENI is one network interface.
type ENI struct {
	ID          string
	Name        string
	Role        Role
	VPC         *VPC
	Subnet      *Subnet
	InstanceID  string // "" for requester-managed interfaces (NAT GW, LB)
	PrivateIP   netip.Addr
	PublicIP    netip.Addr // zero when none
	IPv6        netip.Addr // zero on IPv4-only interfaces; AWS IPv6 addresses are global
	SGs         []*SecurityGroup
	Description string
	Type        string // interface, nat_gateway, network_load_balancer…
	index       int
}

// Topology is the simulated account.
type Topology struct {
	AccountID, Region string
	VPCs              []*VPC
	ENIs              []*ENI
	SGs               []*SecurityGroup

	Web, App, DB, LB, Idle, Analytics []*ENI
	Bastion, NAT, LegacyDB            *ENI
	Scanner, Monitor                  *ENI
	LegacySG                          *SecurityGroup
	ExposedRule                       *SGRule
}

// idGen makes AWS-looking resource ids from the plan's random source.
type idGen struct{ r *rand.Rand }

func (g idGen) id(prefix string, n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, len(prefix)+1+n)
	b = append(b, prefix...)
	b = append(b, '-')
	for i := 0; i < n; i++ {
		b = append(b, hex[g.r.IntN(16)])
	}
	return string(b)
}

func scaled(base int, scale float64) int {
	if scale <= 1 {
		return base
	}
	return int(math.Ceil(float64(base) * scale))
}

func (s *Subnet) alloc() netip.Addr {
	if s.next == 0 {
		s.next = 10 // .0-.3 and the broadcast are AWS-reserved; start well clear
	}
	a := s.CIDR.Addr().As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n += uint32(s.next)
	s.next++
	if !s.CIDR.Contains(addr4(n)) {
		panic("BUG: subnet " + s.Name + " is full")
	}
	return addr4(n)
}

func addr4(n uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// primaryLayout is the primary VPC's custom format: every v2-v5 field in
// documentation order (29 fields).
var primaryLayout = func() flowlog.Layout {
	fs := make([]flowlog.Field, 0, 29)
	for f := flowlog.Version; f <= flowlog.TrafficPath; f++ {
		fs = append(fs, f)
	}
	return flowlog.NewLayout(fs...)
}()

func buildTopology(cfg *Config, r *rand.Rand, ips *ipPool) *Topology {
	g := idGen{r}
	t := &Topology{AccountID: cfg.AccountID, Region: cfg.Region}
	azs := []struct{ az, id string }{{cfg.Region + "a", "use1-az4"}, {cfg.Region + "b", "use1-az6"}}

	prod := &VPC{ID: g.id("vpc", 17), Name: "prod", CIDR: netip.MustParsePrefix("10.0.0.0/16"),
		FlowLogID: g.id("fl", 17), Layout: primaryLayout, Interval: 600}
	shared := &VPC{ID: g.id("vpc", 17), Name: "shared-services", CIDR: netip.MustParsePrefix("10.1.0.0/16"),
		FlowLogID: g.id("fl", 17), Layout: flowlog.DefaultLayout, Interval: 60, index: 1}
	t.VPCs = []*VPC{prod, shared}

	// A subnet is a /24 (slot n is 10.x.n.0/24) unless the scale puts more
	// interfaces in one than a /24 holds: then every subnet of its VPC
	// widens to /23, /22 or /21 at slot n << bits, so that small scales keep
	// their addresses and subnets never overlap.
	half := func(n int) int { return (n + 1) / 2 }
	widen := func(need int) int {
		bits := 0
		for bits < 3 && need > 1<<(8+bits)-16 {
			bits++
		}
		if need > 1<<(8+bits)-16 {
			panic(fmt.Sprintf("BUG: scale %g needs %d interfaces in one subnet", cfg.Scale, need))
		}
		return bits
	}
	prodBits := widen(max(half(scaled(4, cfg.Scale)), half(scaled(6, cfg.Scale)), half(scaled(3, cfg.Scale))) + 8)
	sharedBits := widen(scaled(2, cfg.Scale) + 8)
	sub := func(v *VPC, name string, slot, az int, public bool) *Subnet {
		second, bits := 0, prodBits
		if v == shared {
			second, bits = 1, sharedBits
		}
		cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(second), byte(slot << bits), 0}), 24-bits)
		s := &Subnet{ID: g.id("subnet", 17), Name: name, CIDR: cidr,
			AZ: azs[az].az, AZID: azs[az].id, Public: public, VPC: v}
		v.Subnets = append(v.Subnets, s)
		return s
	}
	pubA := sub(prod, "prod-public-a", 0, 0, true)
	pubB := sub(prod, "prod-public-b", 1, 1, true)
	appA := sub(prod, "prod-app-a", 10, 0, false)
	appB := sub(prod, "prod-app-b", 11, 1, false)
	dbA := sub(prod, "prod-db-a", 20, 0, false)
	dbB := sub(prod, "prod-db-b", 21, 1, false)
	toolsA := sub(shared, "shared-tools-a", 0, 0, false)
	anaB := sub(shared, "shared-analytics-b", 1, 1, false)

	// Network ACLs: the default (allow all) everywhere but the database
	// subnets, whose custom ACL admits the VPCs and return traffic only.
	for _, v := range t.VPCs {
		acl := &NACL{ID: g.id("acl", 17), VPC: v, IsDefault: true, Entries: []NACLEntry{
			{Rule: 100, Protocol: "-1", Allow: true, CIDR: "0.0.0.0/0"},
			{Rule: 32767, Protocol: "-1", CIDR: "0.0.0.0/0"},
			{Rule: 100, Egress: true, Protocol: "-1", Allow: true, CIDR: "0.0.0.0/0"},
			{Rule: 32767, Egress: true, Protocol: "-1", CIDR: "0.0.0.0/0"},
		}}
		v.NACLs = append(v.NACLs, acl)
	}
	dbACL := &NACL{ID: g.id("acl", 17), VPC: prod, Entries: []NACLEntry{
		{Rule: 100, Protocol: "-1", Allow: true, CIDR: "10.0.0.0/16"},
		{Rule: 110, Protocol: "-1", Allow: true, CIDR: "10.1.0.0/16"},
		{Rule: 200, Protocol: "6", Allow: true, CIDR: "0.0.0.0/0", From: 1024, To: 65535},
		{Rule: 32767, Protocol: "-1", CIDR: "0.0.0.0/0"},
		{Rule: 100, Egress: true, Protocol: "-1", Allow: true, CIDR: "0.0.0.0/0"},
		{Rule: 32767, Egress: true, Protocol: "-1", CIDR: "0.0.0.0/0"},
	}}
	prod.NACLs = append(prod.NACLs, dbACL)
	for _, v := range t.VPCs {
		for _, s := range v.Subnets {
			s.NACL = v.NACLs[0]
			if s == dbA || s == dbB {
				s.NACL = dbACL
			}
			s.NACL.Subnets = append(s.NACL.Subnets, s)
		}
	}

	// Security groups.
	sg := func(v *VPC, name, desc string) *SecurityGroup {
		s := &SecurityGroup{ID: g.id("sg", 17), Name: name, Desc: desc, VPC: v}
		s.Egress = []*SGRule{{Proto: "-1", CIDRs: []string{"0.0.0.0/0"}}}
		t.SGs = append(t.SGs, s)
		return s
	}
	tcp := func(port int, desc string, cidrs []string, groups ...*SecurityGroup) *SGRule {
		return &SGRule{Proto: "tcp", From: port, To: port, CIDRs: cidrs, Groups: groups, Desc: desc}
	}
	any4 := []string{"0.0.0.0/0"}
	albSG := sg(prod, "prod-alb", "public load balancer")
	webSG := sg(prod, "prod-web", "web servers")
	appSG := sg(prod, "prod-app", "application servers")
	dbSG := sg(prod, "prod-db", "postgres")
	bastionSG := sg(prod, "prod-bastion", "ssh jump host")
	legacySG := sg(prod, "legacy-mysql", "legacy reporting mysql")
	scanSG := sg(prod, "prod-vuln-scanner", "internal vulnerability scanner")
	monSG := sg(shared, "shared-monitoring", "prometheus")
	anaSG := sg(shared, "shared-analytics", "analytics workers")
	idleSG := sg(prod, "default", "default VPC security group")
	albSG.Ingress = []*SGRule{tcp(443, "https", any4), tcp(80, "http redirect", any4)}
	webSG.Ingress = []*SGRule{tcp(80, "http", any4), tcp(443, "https", any4), tcp(8080, "from alb", nil, albSG),
		tcp(22, "ssh from bastion", nil, bastionSG), tcp(9100, "node exporter", []string{toolsA.CIDR.String()})}
	appSG.Ingress = []*SGRule{tcp(8080, "from web", nil, webSG), tcp(22, "ssh inside the vpc", []string{"10.0.0.0/16"}),
		tcp(9100, "node exporter", []string{toolsA.CIDR.String()}), {Proto: "-1", Groups: []*SecurityGroup{scanSG}, Desc: "vulnerability scanner"}}
	dbSG.Ingress = []*SGRule{tcp(5432, "from app", nil, appSG), tcp(5432, "replication", nil, dbSG), tcp(5432, "analytics over peering", []string{anaB.CIDR.String()}),
		tcp(22, "ssh from bastion", nil, bastionSG), tcp(9100, "node exporter", []string{toolsA.CIDR.String()}),
		{Proto: "-1", Groups: []*SecurityGroup{scanSG}, Desc: "vulnerability scanner"}}
	bastionSG.Ingress = []*SGRule{tcp(22, "ssh", any4), tcp(9100, "node exporter", []string{toolsA.CIDR.String()})}
	legacySG.Ingress = []*SGRule{tcp(3306, "from app", nil, appSG), tcp(22, "ssh from bastion", nil, bastionSG),
		tcp(9100, "node exporter", []string{toolsA.CIDR.String()})}
	monSG.Ingress = []*SGRule{tcp(9090, "prometheus ui", []string{"10.0.0.0/8"})}
	anaSG.Ingress = []*SGRule{tcp(22, "ssh", []string{"10.1.0.0/16"})}
	scanSG.Ingress = nil
	idleSG.Ingress = []*SGRule{{Proto: "-1", Groups: []*SecurityGroup{idleSG}, Desc: "same group"}}
	t.LegacySG = legacySG
	for _, s := range t.SGs {
		for _, rl := range append(append([]*SGRule{}, s.Ingress...), s.Egress...) {
			rl.RuleID = g.id("sgr", 17)
		}
	}

	// Interfaces.
	eni := func(role Role, name string, s *Subnet, public bool, instance bool, sgs ...*SecurityGroup) *ENI {
		e := &ENI{ID: g.id("eni", 17), Name: name, Role: role, VPC: s.VPC, Subnet: s, PrivateIP: s.alloc(),
			SGs: sgs, Type: "interface", index: len(t.ENIs)}
		if instance {
			e.InstanceID = g.id("i", 17)
			e.Description = "Primary network interface"
		}
		if public {
			e.PublicIP = ips.awsPublic()
		}
		t.ENIs = append(t.ENIs, e)
		return e
	}
	pubs := []*Subnet{pubA, pubB}
	apps := []*Subnet{appA, appB}
	dbs := []*Subnet{dbA, dbB}
	t.NAT = eni(RoleNAT, "nat-gateway-a", pubA, true, false)
	t.NAT.Type = "nat_gateway"
	t.NAT.Description = "Interface for NAT Gateway " + g.id("nat", 17)
	for i := 0; i < 2; i++ {
		e := eni(RoleLB, fmt.Sprintf("alb-%c", 'a'+i), pubs[i], true, false, albSG)
		e.Description = "ELB app/prod-web/" + g.id("x", 16)[2:]
		t.LB = append(t.LB, e)
	}
	t.Bastion = eni(RoleBastion, "bastion-1", pubA, true, true, bastionSG)
	for i := 0; i < scaled(4, cfg.Scale); i++ {
		t.Web = append(t.Web, eni(RoleWeb, fmt.Sprintf("web-%d", i+1), pubs[i%2], true, true, webSG))
	}
	for i := 0; i < scaled(6, cfg.Scale); i++ {
		t.App = append(t.App, eni(RoleApp, fmt.Sprintf("app-%d", i+1), apps[i%2], false, true, appSG))
	}
	for i := 0; i < scaled(3, cfg.Scale); i++ {
		t.DB = append(t.DB, eni(RoleDB, fmt.Sprintf("db-%d", i+1), dbs[i%2], false, true, dbSG))
	}
	t.LegacyDB = eni(RoleLegacyDB, "legacy-mysql-1", pubB, true, true, legacySG)
	t.Scanner = eni(RoleScanner, "vuln-scanner-1", appA, false, true, scanSG)
	for i := 0; i < 3; i++ {
		t.Idle = append(t.Idle, eni(RoleIdle, fmt.Sprintf("idle-%d", i+1), apps[i%2], false, i != 2, idleSG))
	}
	t.Monitor = eni(RoleMonitor, "prometheus-1", toolsA, false, true, monSG)
	for i := 0; i < scaled(2, cfg.Scale); i++ {
		t.Analytics = append(t.Analytics, eni(RoleAnalytics, fmt.Sprintf("analytics-%d", i+1), anaB, false, true, anaSG))
	}
	for _, v := range t.VPCs {
		for _, a := range v.NACLs {
			a.compile()
		}
	}
	for _, s := range t.SGs {
		for _, rl := range s.Ingress {
			for _, c := range rl.CIDRs {
				rl.prefixes = append(rl.prefixes, netip.MustParsePrefix(c))
			}
		}
	}
	return t
}

// openToWorld adds the misconfigured rule: MySQL open to 0.0.0.0/0 from at.
func (t *Topology) openToWorld(at int64, ruleID string) {
	rl := &SGRule{Proto: "tcp", From: 3306, To: 3306, CIDRs: []string{"0.0.0.0/0"}, Desc: "temp access for vendor",
		Since: at, RuleID: ruleID, prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}
	t.LegacySG.Ingress = append(t.LegacySG.Ingress, rl)
	t.ExposedRule = rl
}

// allows reports whether dst's security groups admit a new TCP/UDP
// connection from src (an ENI or, when srcENI is nil, any address) at time at.
func (dst *ENI) allows(src netip.Addr, srcENI *ENI, proto int32, port int32, at int64) bool {
	for _, g := range dst.SGs {
		for _, rl := range g.Ingress {
			if rl.Since != 0 && at < rl.Since {
				continue
			}
			switch rl.Proto {
			case "-1":
			case "tcp":
				if proto != 6 || int(port) < rl.From || int(port) > rl.To {
					continue
				}
			case "udp":
				if proto != 17 || int(port) < rl.From || int(port) > rl.To {
					continue
				}
			default:
				continue
			}
			for _, p := range rl.prefixes {
				if p.Contains(src) {
					return true
				}
			}
			if srcENI != nil {
				for _, rg := range rl.Groups {
					for _, sg := range srcENI.SGs {
						if sg == rg {
							return true
						}
					}
				}
			}
		}
	}
	return false
}

// InternalCIDRs returns the CIDRs of the simulated VPCs.
func (t *Topology) InternalCIDRs() []string {
	out := make([]string, 0, 2*len(t.VPCs))
	for _, v := range t.VPCs {
		out = append(out, v.CIDR.String())
	}
	for _, v := range t.VPCs {
		if v.CIDR6.IsValid() {
			out = append(out, v.CIDR6.String())
		}
	}
	return out
}

// subnet returns the subnet named name.
func (t *Topology) subnet(name string) *Subnet {
	for _, v := range t.VPCs {
		for _, s := range v.Subnets {
			if s.Name == name {
				return s
			}
		}
	}
	panic("BUG: no subnet " + name)
}
