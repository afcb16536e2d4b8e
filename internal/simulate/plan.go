package simulate

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"time"
)

// plan is everything decided before the slots are generated: the topology,
// the external address pools, every attack connection and the side-file
// story. It is built sequentially from the seed, then only read.
type plan struct {
	cfg        *Config
	top        *Topology
	start, end int64

	customers, saas, admins, scanners, s3IPs []netip.Addr
	customers6, saas6, scanners6, mirrors6   []netip.Addr
	hostileNet                               netip.Prefix // denied by the public subnets' NACL
	backupHost                               netip.Addr

	bgLong []conn // long ordinary connections (replication)
	events []conn // short connections, each inside one slot, sorted by start
	long   []conn // connections that span aggregation windows

	gapStart, gapEnd int64  // primary VPC flow log deleted in [gapStart, gapEnd)
	newFlowLogID     string // the primary VPC's flow log after re-creation
	exposeAt         int64
	exposeEventID    string

	attacks   []Attack
	stories   []story // CloudTrail / GuardDuty material, see sidefiles.go
	blocklist []string
	ids       idGen
}

// story ties an attack to the side files that mention it.
type story struct {
	attack   int // index in plan.attacks
	gdType   string
	gdRole   string // ACTOR or TARGET
	eni      *ENI
	remote   netip.Addr
	port     int32
	count    int
	first    int64
	last     int64
	severity float64
}

func newPlan(cfg *Config) *plan {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x5eed_f10e))
	ips := newIPPool(r)
	p := &plan{cfg: cfg, start: cfg.Start.Unix(), end: cfg.End().Unix(), ids: idGen{r}}
	p.top = buildTopology(cfg, r, ips)
	p.customers = ips.externals(int(3000 * max(1, cfg.Scale)))
	p.saas = ips.externals(40)
	p.admins = ips.externals(3)
	p.scanners = ips.externals(1500)
	for i := 0; i < 8; i++ {
		p.s3IPs = append(p.s3IPs, ips.s3())
	}
	p.backupHost = ips.external()
	p.newFlowLogID = p.ids.id("fl", 17)
	p.planAttacks(r, ips)
	p.planBackgroundLong(r)
	// IPv6 and the NACL deny draw from their own source, so adding them
	// left the IPv4 account and its attacks as they were.
	p.planIPv6(rand.New(rand.NewPCG(cfg.Seed, 0x1b6_f10e)), ips)
	sort.SliceStable(p.events, func(i, j int) bool { return p.events[i].start < p.events[j].start })
	return p
}

// at returns the instant at fraction f of the simulated span.
func (p *plan) at(f float64) int64 {
	return p.start + int64(f*float64(p.end-p.start))
}

// span returns min(nominal, f × duration), at least one slot.
func (p *plan) span(nominal time.Duration, f float64) int64 {
	d := min(int64(nominal/time.Second), int64(f*float64(p.end-p.start)))
	return max(d, slotSeconds)
}

// fit moves [start, start+dur] inside the 5-minute slot of start.
func fit(start, dur int64) (int64, int64) {
	dur = min(max(dur, 0), slotSeconds-1)
	s0 := start - start%slotSeconds
	if start+dur >= s0+slotSeconds {
		start = s0 + slotSeconds - 1 - dur
	}
	return start, start + dur
}

func ephemeral(r *rand.Rand) int32 { return 32768 + r.Int32N(28232) } // Linux 32768-60999
func highPort(r *rand.Rand) int32  { return 1024 + r.Int32N(64512) }  // NAT GW, ELB, scanners

func pkts(r *rand.Rand, bytes int64, mss int64) int64 {
	return bytes/(mss/2+r.Int64N(mss/2+1)) + 2
}

// tcp returns a complete short TCP connection of dur seconds.
func tcp(r *rand.Rand, start, dur, req, resp int64) conn {
	s, e := fit(start, dur)
	c := conn{proto: 6, start: s, end: e, reqBytes: req, respByte: resp,
		cliFlags: flagSYN | flagFIN, srvFlags: flagSYNACK | flagFIN}
	c.reqPkts, c.respPkts = pkts(r, req, 1000), pkts(r, resp, 1400)
	return c
}

// between sets the endpoints of c: from (ENI or external address) to.
func (p *plan) between(r *rand.Rand, c *conn, cli *ENI, cliAddr netip.Addr, srv *ENI, srvAddr netip.Addr, sport int32) {
	c.cli, c.srv, c.sport = cli, srv, sport
	c.cport = ephemeral(r)
	// An outside peer with an IPv6 address talks to the interface's IPv6
	// address; between two interfaces of the account the traffic stays IPv4.
	v6 := (cli == nil && cliAddr.Is6()) || (srv == nil && srvAddr.Is6())
	if cli != nil {
		cliAddr = cli.PrivateIP
		if v6 {
			cliAddr = cli.IPv6
		}
	}
	if srv != nil {
		srvAddr = srv.PrivateIP
		if v6 {
			srvAddr = srv.IPv6
		}
	}
	if !cliAddr.IsValid() || !srvAddr.IsValid() {
		panic("BUG: IPv6 traffic planned for an IPv4-only interface")
	}
	c.cliAddr, c.srvAddr = cliAddr, srvAddr
	switch {
	case cli != nil && srv != nil:
		c.cliPath, c.srvPath = 1, 1
		if cli.VPC != srv.VPC {
			c.cliPath, c.srvPath = 4, 4
		}
		if !srv.allows(c.cliAddr, cli, c.proto, sport, c.start) {
			c.reject = true
		}
		// Network ACLs filter only traffic that crosses a subnet boundary.
		if cli.Subnet != srv.Subnet && !srv.Subnet.NACL.admits(c.cliAddr, c.proto, sport) {
			c.reject = true
		}
	case cli != nil && !publicRoutable(srvAddr) && !s3Block.Contains(srvAddr): // internal address without an ENI
		c.cliPath, c.noResp = 1, true
	case cli != nil && v6: // IPv6 leaves through the internet gateway, or the egress-only one from private subnets
		c.cliPath = 8
	case cli != nil: // outbound to the internet
		if cli.PublicIP.IsValid() {
			c.cliPath = 8
		} else {
			c.nat, c.natPort, c.cliPath = p.top.NAT, highPort(r), 1
		}
		if s3Block.Contains(srvAddr) {
			c.nat, c.cliPath, c.srvSvc = nil, 7, "S3"
		}
	case srv != nil: // inbound from the internet
		c.cport = highPort(r)
		c.srvPath = 8
		if srv.Type != "interface" {
			c.srvPath = 2
		}
		if !srv.allows(cliAddr, nil, c.proto, sport, c.start) || !srv.Subnet.NACL.admits(cliAddr, c.proto, sport) {
			c.reject = true
		}
	}
	if c.reject || c.noResp {
		c.respPkts, c.respByte = 0, 0
		c.reqPkts = min(c.reqPkts, 1+r.Int64N(3))
		c.reqBytes = c.reqPkts * 44
		c.cliFlags, c.srvFlags = flagSYN, 0
		if c.proto != 6 {
			c.cliFlags = 0
		}
	}
}

// probe is a TCP SYN probe answered by a reset or by nothing.
func (p *plan) probe(r *rand.Rand, at int64, cli *ENI, cliAddr netip.Addr, srv *ENI, srvAddr netip.Addr, port int32) conn {
	c := tcp(r, at, r.Int64N(3), 44, 40)
	c.reqPkts, c.respPkts = 1+r.Int64N(2), 1
	c.reqBytes, c.respByte = 44*c.reqPkts, 40
	c.cliFlags, c.srvFlags = flagSYN|flagRST, flagSYNACK
	p.between(r, &c, cli, cliAddr, srv, srvAddr, port)
	return c
}

// window returns the first start and last end of conns.
func window(cs []conn) (time.Time, time.Time) {
	lo, hi := cs[0].start, cs[0].end
	for _, c := range cs {
		lo, hi = min(lo, c.start), max(hi, c.end)
	}
	return time.Unix(lo, 0).UTC(), time.Unix(hi, 0).UTC()
}

// record adds an attack whose connections are cs (short) and ls (long).
func (p *plan) record(a Attack, cs, ls []conn) int {
	all := append(append([]conn{}, cs...), ls...)
	if len(all) == 0 {
		panic("BUG: attack " + a.Class + " has no traffic")
	}
	a.Start, a.End = window(all)
	a.ID = fmt.Sprintf("%s-%d", a.Class, 1+len(p.attacksOf(a.Class)))
	seen := map[string]bool{}
	for _, c := range all {
		for _, e := range []*ENI{c.cli, c.srv} {
			if e != nil && !seen[e.ID] {
				seen[e.ID] = true
				a.ENIs = append(a.ENIs, e.ID)
			}
		}
	}
	if a.ENIs == nil {
		a.ENIs = []string{}
	}
	p.events = append(p.events, cs...)
	p.long = append(p.long, ls...)
	p.attacks = append(p.attacks, a)
	return len(p.attacks) - 1
}

func (p *plan) attacksOf(class string) []Attack {
	var out []Attack
	for _, a := range p.attacks {
		if a.Class == class {
			out = append(out, a)
		}
	}
	return out
}

func addrs(as ...netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

func eniAddrs(es ...*ENI) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.PrivateIP.String()
	}
	return out
}
