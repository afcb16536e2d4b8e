package simulate

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"
)

// aws6 is Amazon's IPv6 space the VPC /56 blocks of us-east-1 come from.
var aws6 = netip.MustParsePrefix("2600:1f00::/24")

// ext6Hosting and ext6Residential are outside IPv6 networks: hosting
// providers (where attackers and SaaS live) and consumer ISPs (customers).
var (
	ext6Hosting = []netip.Prefix{
		netip.MustParsePrefix("2a01:4f8::/32"),  // Hetzner
		netip.MustParsePrefix("2001:bc8::/32"),  // Scaleway
		netip.MustParsePrefix("2a03:b0c0::/32"), // DigitalOcean
		netip.MustParsePrefix("2001:41d0::/32"), // OVH
	}
	ext6Residential = []netip.Prefix{
		netip.MustParsePrefix("2601::/20"),      // Comcast
		netip.MustParsePrefix("2a02:8108::/32"), // Vodafone DE
		netip.MustParsePrefix("2003::/19"),      // Deutsche Telekom
		netip.MustParsePrefix("2600:1700::/28"), // AT&T
	}
)

// random6 returns a random address in p (p at most a /64 long, the
// interface identifier random as with SLAAC privacy addresses).
func random6(r *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As16()
	for i := p.Bits() / 8; i < 16; i++ {
		v := byte(r.IntN(256))
		if i == p.Bits()/8 && p.Bits()%8 != 0 {
			v &= byte(0xff >> (p.Bits() % 8))
		}
		b[i] |= v
	}
	return netip.AddrFrom16(b)
}

func (ips *ipPool) from6(blocks []netip.Prefix) netip.Addr {
	for {
		a := random6(ips.r, blocks[ips.r.IntN(len(blocks))])
		if !ips.used[a] {
			ips.used[a] = true
			return a
		}
	}
}

func (ips *ipPool) many6(n int, blocks []netip.Prefix) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = ips.from6(blocks)
	}
	return out
}

// admits reports whether the network ACL lets an inbound packet from src
// to port in: entries in rule-number order, the first that matches decides.
// Egress entries are not evaluated: the simulated ACLs allow all egress.
func (a *NACL) admits(src netip.Addr, proto int32, port int32) bool {
	if a == nil {
		return true
	}
	for i := range a.Entries {
		e := &a.Entries[i]
		if e.Egress || !e.prefix.IsValid() || !e.prefix.Contains(src) {
			continue
		}
		if e.Protocol != "-1" && e.Protocol != fmt.Sprint(proto) {
			continue
		}
		if (e.From != 0 || e.To != 0) && (int(port) < e.From || int(port) > e.To) {
			continue
		}
		return e.Allow
	}
	return false
}

func (a *NACL) compile() {
	for i := range a.Entries {
		a.Entries[i].prefix = netip.MustParsePrefix(a.Entries[i].CIDR)
	}
}

// planIPv6 makes the account dual-stack and plans what rides on it: an
// Amazon /56 per VPC and a /64 per subnet, IPv6 addresses on the load
// balancers, web servers, bastion (public subnets, internet gateway) and
// application servers (private subnets, egress-only internet gateway),
// security-group rules for ::/0, the outside IPv6 peers, two attacks over
// IPv6, and a network ACL on the public subnets that denies one hostile
// network (REJECTs the audit must attribute to the NACL, not a group).
func (p *plan) planIPv6(r *rand.Rand, ips *ipPool) {
	t := p.top
	g := idGen{r}
	for _, v := range t.VPCs {
		// Amazon hands out /56 blocks from 2600:1f18::/32 in us-east-1.
		v.CIDR6 = netip.PrefixFrom(random6(r, netip.MustParsePrefix("2600:1f18::/32")), 56).Masked()
		for i, s := range v.Subnets {
			b := v.CIDR6.Addr().As16()
			b[7] = byte(i)
			s.CIDR6 = netip.PrefixFrom(netip.AddrFrom16(b), 64)
		}
	}
	dual := append(append(append([]*ENI{}, t.LB...), t.Web...), t.App...)
	dual = append(dual, t.Bastion)
	for _, e := range dual {
		e.IPv6 = random6(r, e.Subnet.CIDR6)
	}
	any6 := []string{"::/0"}
	add := func(name string, rl *SGRule) {
		for _, sg := range t.SGs {
			if sg.Name == name {
				rl.RuleID = g.id("sgr", 17)
				for _, c := range rl.CIDRs {
					rl.prefixes = append(rl.prefixes, netip.MustParsePrefix(c))
				}
				sg.Ingress = append(sg.Ingress, rl)
			}
		}
	}
	add("prod-alb", &SGRule{Proto: "tcp", From: 443, To: 443, CIDRs: any6, Desc: "https over ipv6"})
	add("prod-alb", &SGRule{Proto: "tcp", From: 80, To: 80, CIDRs: any6, Desc: "http redirect over ipv6"})
	add("prod-web", &SGRule{Proto: "tcp", From: 443, To: 443, CIDRs: any6, Desc: "https over ipv6"})
	add("prod-bastion", &SGRule{Proto: "tcp", From: 22, To: 22, CIDRs: any6, Desc: "ssh over ipv6"})
	for _, sg := range t.SGs {
		sg.Egress = append(sg.Egress, &SGRule{Proto: "-1", CIDRs: any6, RuleID: g.id("sgr", 17)})
	}

	// Network ACLs: the default ACL of a dual-stack VPC has IPv6 twins of
	// its rules; the public subnets get their own ACL that denies a network
	// the security team blocked after abuse.
	for _, v := range t.VPCs {
		d := v.NACLs[0]
		d.Entries = append(d.Entries[:1:1], NACLEntry{Rule: 101, Protocol: "-1", Allow: true, CIDR: "::/0"},
			d.Entries[1], NACLEntry{Rule: 32768, Protocol: "-1", CIDR: "::/0"},
			d.Entries[2], NACLEntry{Rule: 101, Egress: true, Protocol: "-1", Allow: true, CIDR: "::/0"},
			d.Entries[3], NACLEntry{Rule: 32768, Egress: true, Protocol: "-1", CIDR: "::/0"})
	}
	for {
		x := ips.external() // marked used: the check below skips it
		a := x.As4()
		n := netip.PrefixFrom(netip.AddrFrom4([4]byte{a[0], a[1], a[2], 0}), 24)
		clash := false
		for u := range ips.used {
			if u != x && n.Contains(u) {
				clash = true
				break
			}
		}
		if !clash {
			p.hostileNet = n
			break
		}
	}
	prod := t.VPCs[0]
	pub := &NACL{ID: g.id("acl", 17), VPC: prod, Entries: []NACLEntry{
		{Rule: 90, Protocol: "-1", CIDR: p.hostileNet.String()},
		{Rule: 100, Protocol: "-1", Allow: true, CIDR: "0.0.0.0/0"},
		{Rule: 101, Protocol: "-1", Allow: true, CIDR: "::/0"},
		{Rule: 32767, Protocol: "-1", CIDR: "0.0.0.0/0"},
		{Rule: 32768, Protocol: "-1", CIDR: "::/0"},
		{Rule: 100, Egress: true, Protocol: "-1", Allow: true, CIDR: "0.0.0.0/0"},
		{Rule: 101, Egress: true, Protocol: "-1", Allow: true, CIDR: "::/0"},
		{Rule: 32767, Egress: true, Protocol: "-1", CIDR: "0.0.0.0/0"},
		{Rule: 32768, Egress: true, Protocol: "-1", CIDR: "::/0"},
	}}
	prod.NACLs = append(prod.NACLs, pub)
	def := prod.NACLs[0]
	kept := def.Subnets[:0]
	for _, s := range def.Subnets {
		if s.Public {
			s.NACL = pub
			pub.Subnets = append(pub.Subnets, s)
		} else {
			kept = append(kept, s)
		}
	}
	def.Subnets = kept
	for _, v := range t.VPCs {
		for _, a := range v.NACLs {
			a.compile()
		}
	}

	ips6 := newIPPool(r)
	p.customers6 = ips6.many6(int(800*max(1, p.cfg.Scale)), ext6Residential)
	p.saas6 = ips6.many6(20, ext6Hosting)
	p.mirrors6 = ips6.many6(4, ext6Hosting)
	p.scanners6 = ips6.many6(60, ext6Hosting)
	p.planIPv6Attacks(r, ips6)
}

// planIPv6Attacks adds the attacks that travel over IPv6. GuardDuty has no
// finding for them in the side files: they are what flowhunt must find alone.
func (p *plan) planIPv6Attacks(r *rand.Rand, ips6 *ipPool) {
	t := p.top
	// C2 beacon from an application server through the egress-only
	// internet gateway: every 600 s ± 10 %.
	{
		src, c2 := t.App[1%len(t.App)], ips6.from6(ext6Hosting)
		from, until := p.at(0.30), p.at(0.92)
		var cs []conn
		for ts := from; ts < until; ts += 540 + r.Int64N(121) {
			resp := 200 + r.Int64N(400)
			if r.IntN(30) == 0 {
				resp = 15000 + r.Int64N(40000)
			}
			c := tcp(r, ts, 1+r.Int64N(3), 500+r.Int64N(400), resp)
			p.between(r, &c, src, netip.Addr{}, nil, c2, 443)
			cs = append(cs, c)
		}
		p.record(Attack{Class: ClassC2Beacon, MITRE: []string{"T1071.001", "T1573"}, Actors: addrs(src.IPv6),
			Targets: addrs(c2), Ports: []int{443},
			Description: src.Name + " beacons over IPv6 (egress-only internet gateway) to an outside host every 600 s with 10 % jitter"}, cs, nil)
	}
	// SSH brute force against the bastion's IPv6 address.
	{
		actor, tgt := ips6.from6(ext6Hosting), t.Bastion
		at, n := p.at(0.66), 400
		span := p.span(30*time.Minute, 0.03)
		var cs []conn
		for i := 0; i < n; i++ {
			c := tcp(r, at+int64(i)*span/int64(n), 2+r.Int64N(5), 1700+r.Int64N(1400), 2500+r.Int64N(1600))
			p.between(r, &c, nil, actor, tgt, netip.Addr{}, 22)
			cs = append(cs, c)
		}
		p.record(Attack{Class: ClassBruteForce, MITRE: []string{"T1110", "T1110.001"}, Actors: addrs(actor),
			Targets: addrs(tgt.IPv6), Ports: []int{22},
			Description: "SSH password guessing against the bastion's IPv6 address: 400 short sessions in 30 minutes"}, cs, nil)
	}
}

// background6 is the slot's IPv6 traffic and the hostile network's
// attempts the public subnets' ACL rejects. It has its own random source
// so that the IPv4 background stays what it was.
func (p *plan) background6(r *rand.Rand, o *slotOut) {
	t := p.top
	s := p.cfg.Scale
	f := activity(o.t0 + slotSeconds/2)
	in := func(dur int64) int64 { return o.t0 + r.Int64N(slotSeconds-dur) }
	var c conn
	// Customers with IPv6 reach the dual-stack load balancers...
	for n := poisson(r, 70*s*f); n > 0; n-- {
		dur := 1 + r.Int64N(90)
		c = tcp(r, in(dur), dur, 700+r.Int64N(12000), 2000+r.Int64N(250000))
		p.between(r, &c, nil, p.customers6[zipf(r, len(p.customers6))], t.LB[r.IntN(len(t.LB))], netip.Addr{}, 443)
		o.emit(&c)
	}
	// ...and the web servers' own IPv6 addresses (API clients).
	for n := poisson(r, 15*s*f); n > 0; n-- {
		dur := 1 + r.Int64N(30)
		c = tcp(r, in(dur), dur, 500+r.Int64N(4000), 1000+r.Int64N(60000))
		p.between(r, &c, nil, p.customers6[zipf(r, len(p.customers6))], t.Web[r.IntN(len(t.Web))], netip.Addr{}, 443)
		o.emit(&c)
	}
	// Application servers call IPv6 SaaS endpoints through the egress-only
	// internet gateway; web servers fetch packages from IPv6 mirrors.
	for n := poisson(r, 15*s*f); n > 0; n-- {
		dur := r.Int64N(40)
		c = tcp(r, in(dur), dur, 600+r.Int64N(8000), 1500+r.Int64N(40000))
		p.between(r, &c, t.App[r.IntN(len(t.App))], netip.Addr{}, nil, p.saas6[zipf(r, len(p.saas6))], 443)
		o.emit(&c)
	}
	for n := poisson(r, 2*s*f); n > 0; n-- {
		dur := r.Int64N(30)
		c = tcp(r, in(dur), dur, 500+r.Int64N(3000), 5000+r.Int64N(2_000_000))
		p.between(r, &c, t.Web[r.IntN(len(t.Web))], netip.Addr{}, nil, p.mirrors6[r.IntN(len(p.mirrors6))], []int32{80, 443}[r.IntN(2)])
		o.emit(&c)
	}
	// Scanners rarely sweep IPv6 (the space is too large); a few probe the
	// addresses they learnt from DNS and certificate logs.
	public6 := append(append([]*ENI{t.Bastion}, t.Web...), t.LB...)
	for n := poisson(r, 1.5*s); n > 0; n-- {
		dst := public6[r.IntN(len(public6))]
		c = p.probe(r, in(3), nil, p.scanners6[zipf(r, len(p.scanners6))], dst, netip.Addr{}, scanPorts[zipf(r, len(scanPorts))])
		o.emit(&c)
	}
	// The hostile network keeps trying the public hosts; the ACL drops it
	// even where the security group would admit it (443, 22).
	public4 := append(append([]*ENI{t.Bastion}, t.Web...), t.LB...)
	for n := poisson(r, 3*s); n > 0; n-- {
		dst := public4[r.IntN(len(public4))]
		src := p.hostileNet.Addr().As4()
		src[3] = byte(1 + r.IntN(254))
		port := []int32{443, 22, 80, 8080}[r.IntN(4)]
		c = p.probe(r, in(3), nil, netip.AddrFrom4(src), dst, netip.Addr{}, port)
		o.emit(&c)
	}
}
