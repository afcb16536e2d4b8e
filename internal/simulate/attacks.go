package simulate

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

var sensitivePorts = []int32{21, 22, 23, 25, 53, 80, 110, 135, 139, 143, 443, 445, 1433, 1521, 2375, 3306, 3389,
	5432, 5900, 5985, 6379, 8080, 8443, 9200, 11211, 27017}

// planAttacks schedules every labelled activity. Times are fractions of the
// simulated span so that a short test run holds them all; durations are
// nominal values clamped to the span.
func (p *plan) planAttacks(r *rand.Rand, ips *ipPool) {
	t := p.top
	web, app, db := t.Web, t.App, t.DB

	// Logging gap: the primary VPC's flow log is deleted, then re-created.
	gap := p.span(40*time.Minute, 0.02)
	p.gapStart = p.at(0.80) - p.at(0.80)%slotSeconds
	p.gapEnd = p.gapStart + gap - gap%slotSeconds
	if p.gapEnd == p.gapStart {
		p.gapEnd += slotSeconds
	}
	operator := ips.external()
	gi := p.record(Attack{Class: ClassLoggingGap, MITRE: []string{"T1562.008"}, Actors: addrs(operator),
		Targets: []string{}, Ports: []int{},
		Description: "flow log of VPC " + t.VPCs[0].ID + " deleted (DeleteFlowLogs) and re-created 40 minutes later; no records in between"},
		[]conn{{start: p.gapStart, end: p.gapEnd - 1}}, nil)
	p.attacks[gi].ENIs = []string{}
	p.stories = append(p.stories, story{attack: gi, remote: operator, first: p.gapStart, last: p.gapEnd})

	// Vertical scan: one outside host walks a web server's ports in minutes.
	{
		actor, tgt := ips.external(), web[1%len(web)]
		at := p.at(0.30)
		var cs []conn
		ports := r.Perm(1024)
		for i, port := range ports {
			ts := at + int64(i)*p.span(4*time.Minute, 0.02)/int64(len(ports))
			cs = append(cs, p.probe(r, ts, nil, actor, tgt, netip.Addr{}, int32(port+1)))
		}
		for _, port := range []int32{1433, 2375, 3306, 3389, 5432, 5900, 6379, 8080, 8443, 9200, 27017} {
			cs = append(cs, p.probe(r, at+r.Int64N(200), nil, actor, tgt, netip.Addr{}, port))
		}
		p.record(Attack{Class: ClassReconVerticalScan, MITRE: []string{"T1046", "T1595.001"}, Actors: addrs(actor),
			Targets: eniAddrs(tgt), Ports: []int{},
			Description: "internet host scans 1,035 TCP ports of " + tgt.Name + " in about four minutes; almost all rejected"}, cs, nil)
	}

	// Slow scan: one port every few minutes against the bastion, for hours.
	{
		actor, tgt := ips.external(), t.Bastion
		at, until := p.at(0.10), p.at(0.10)+p.span(10*time.Hour, 0.22)
		var cs []conn
		seen := map[int32]bool{}
		for ts := at; ts < until; ts += 240 + r.Int64N(240) {
			port := int32(1 + r.IntN(10000))
			if r.IntN(3) == 0 {
				port = sensitivePorts[r.IntN(len(sensitivePorts))]
			}
			if seen[port] {
				continue
			}
			seen[port] = true
			cs = append(cs, p.probe(r, ts, nil, actor, tgt, netip.Addr{}, port))
		}
		i := p.record(Attack{Class: ClassReconSlowScan, MITRE: []string{"T1046", "T1595.001"}, Actors: addrs(actor),
			Targets: eniAddrs(tgt), Ports: []int{},
			Description: "internet host probes one port of the bastion every 4-8 minutes for hours"}, cs, nil)
		p.stories = append(p.stories, story{attack: i, gdType: "Recon:EC2/PortProbeUnprotectedPort", gdRole: "TARGET",
			eni: tgt, remote: actor, port: 22, count: len(cs), first: cs[0].start, last: cs[len(cs)-1].end, severity: 2})
	}

	// Brute force: hundreds of short SSH sessions to the bastion.
	var bruteActor netip.Addr
	{
		actor, tgt := ips.external(), t.Bastion
		bruteActor = actor
		at, n := p.at(0.40), 600
		span := p.span(40*time.Minute, 0.04)
		var cs []conn
		for i := 0; i < n; i++ {
			c := tcp(r, at+int64(i)*span/int64(n), 2+r.Int64N(6), 1800+r.Int64N(1500), 2600+r.Int64N(1800))
			if r.IntN(8) == 0 {
				c.cliFlags |= flagRST
			}
			p.between(r, &c, nil, actor, tgt, netip.Addr{}, 22)
			cs = append(cs, c)
		}
		i := p.record(Attack{Class: ClassBruteForce, MITRE: []string{"T1110", "T1110.001"}, Actors: addrs(actor),
			Targets: eniAddrs(tgt), Ports: []int{22},
			Description: "SSH password guessing against the bastion: 600 short sessions in 40 minutes"}, cs, nil)
		p.stories = append(p.stories, story{attack: i, gdType: "UnauthorizedAccess:EC2/SSHBruteForce", gdRole: "TARGET",
			eni: tgt, remote: actor, port: 22, count: n, first: cs[0].start, last: cs[n-1].end, severity: 2})
	}

	// Threat-intel contact: an application server talks to listed addresses.
	listed := []netip.Addr{ips.external(), ips.external()}
	{
		src := app[2%len(app)]
		at := p.at(0.35)
		var cs []conn
		for i := 0; i < 8; i++ {
			c := tcp(r, at+int64(i)*150+r.Int64N(60), 1+r.Int64N(10), 400+r.Int64N(800), 900+r.Int64N(4000))
			p.between(r, &c, src, netip.Addr{}, nil, listed[i%2], []int32{8443, 443}[i%2])
			cs = append(cs, c)
		}
		p.record(Attack{Class: ClassThreatIntelContact, MITRE: []string{"T1071.001"}, Actors: eniAddrs(src),
			Targets: addrs(listed...), Ports: []int{443, 8443},
			Description: src.Name + " connects to two addresses of the threat-intel blocklist"}, cs, nil)
	}
	p.blocklist = append(addrs(listed...), bruteActor.String())

	// C2 beacon: every 300 s ± 15 % from a web server, for most of the span.
	{
		src, c2 := web[2%len(web)], ips.external()
		from, until := p.at(0.05), p.at(0.95)
		var cs []conn
		for ts := from; ts < until; ts += 255 + r.Int64N(91) {
			resp := 300 + r.Int64N(700)
			if r.IntN(25) == 0 {
				resp = 20000 + r.Int64N(60000) // tasking
			}
			c := tcp(r, ts, 1+r.Int64N(2), 600+r.Int64N(600), resp)
			p.between(r, &c, src, netip.Addr{}, nil, c2, 443)
			cs = append(cs, c)
		}
		i := p.record(Attack{Class: ClassC2Beacon, MITRE: []string{"T1071.001", "T1573"}, Actors: eniAddrs(src),
			Targets: addrs(c2), Ports: []int{443},
			Description: src.Name + " beacons to an outside host over HTTPS every 300 s with 15 % jitter"}, cs, nil)
		p.stories = append(p.stories, story{attack: i, gdType: "Backdoor:EC2/C&CActivity.B", gdRole: "ACTOR",
			eni: src, remote: c2, port: 443, count: len(cs), first: cs[0].start, last: cs[len(cs)-1].end, severity: 8})
		p.blocklist = append(p.blocklist, c2.String())
	}

	// Low-and-slow exfiltration: small chunks to a new destination.
	{
		src, dst := app[3%len(app)], ips.external()
		from, until := p.at(0.20), min(p.at(0.20)+p.span(30*time.Hour, 0.55), p.at(0.78))
		var cs []conn
		for ts := from; ts < until; ts += 1200 + r.Int64N(1200) {
			c := tcp(r, ts, 5+r.Int64N(25), 300_000+r.Int64N(600_000), 4000+r.Int64N(4000))
			p.between(r, &c, src, netip.Addr{}, nil, dst, 443)
			cs = append(cs, c)
		}
		p.record(Attack{Class: ClassExfilLowSlow, MITRE: []string{"T1030", "T1048"}, Actors: eniAddrs(src),
			Targets: addrs(dst), Ports: []int{443},
			Description: src.Name + " uploads 300-900 KB to a never-seen host every 20-40 minutes"}, cs, nil)
	}

	// Cryptomining: one long-lived stratum connection through the NAT gateway.
	{
		src, pool := app[4%len(app)], ips.external()
		from := p.at(0.45)
		until := min(from+p.span(20*time.Hour, 0.30), p.at(0.78))
		c := conn{proto: 6, start: from, end: until, cliFlags: flagSYN, srvFlags: flagSYNACK}
		hours := (until - from) / 3600
		c.reqBytes, c.respByte = (hours+1)*240_000, (hours+1)*380_000
		c.reqPkts, c.respPkts = (hours+1)*2600, (hours+1)*2500
		p.between(r, &c, src, netip.Addr{}, nil, pool, 3333)
		i := p.record(Attack{Class: ClassCryptomining, MITRE: []string{"T1496"}, Actors: eniAddrs(src),
			Targets: addrs(pool), Ports: []int{3333},
			Description: src.Name + " holds a stratum connection to a mining pool on port 3333 for hours"}, nil, []conn{c})
		p.stories = append(p.stories, story{attack: i, gdType: "CryptoCurrency:EC2/BitcoinTool.B", gdRole: "ACTOR",
			eni: src, remote: pool, port: 3333, count: 1, first: c.start, last: c.end, severity: 8})
	}

	// Inbound SYN flood on a web server.
	{
		tgt := web[3%len(web)]
		srcs := ips.externals(500)
		at, span := p.at(0.50), p.span(10*time.Minute, 0.02)
		var cs []conn
		for _, s := range srcs {
			for k := 0; k < 2; k++ {
				c := conn{proto: 6, cliFlags: flagSYN, srvFlags: flagSYNACK}
				c.start, c.end = fit(at+r.Int64N(span), 20+r.Int64N(200))
				c.reqPkts = 40 + r.Int64N(400)
				c.reqBytes, c.respPkts = c.reqPkts*60, 1+r.Int64N(5)
				c.respByte = c.respPkts * 60
				p.between(r, &c, nil, s, tgt, netip.Addr{}, 443)
				cs = append(cs, c)
			}
		}
		p.record(Attack{Class: ClassDoSInbound, MITRE: []string{"T1498.001", "T1499"}, Actors: addrs(srcs...),
			Targets: eniAddrs(tgt), Ports: []int{443},
			Description: "TCP SYN flood from 500 sources at " + tgt.Name + ":443 for ten minutes"}, cs, nil)
	}

	// Horizontal scan: a compromised application server sweeps SSH inside the VPC.
	{
		src := app[1%len(app)]
		at, span := p.at(0.55), p.span(15*time.Minute, 0.03)
		byIP := map[netip.Addr]*ENI{}
		for _, e := range t.ENIs {
			byIP[e.PrivateIP] = e
		}
		var cs []conn
		var tg []string
		i := 0
		for _, sn := range []string{"prod-app-a", "prod-db-a"} { // the first 256 addresses of each
			b := u32(t.subnet(sn).CIDR.Addr())
			for h := uint32(4); h < 255; h++ {
				dst := addr4(b + h)
				if dst == src.PrivateIP {
					continue
				}
				c := p.probe(r, at+int64(i)*span/502, src, netip.Addr{}, byIP[dst], dst, 22)
				if byIP[dst] == nil {
					c.noResp = true
					c.respPkts, c.respByte = 0, 0
					c.cliFlags = flagSYN
				}
				cs = append(cs, c)
				tg = append(tg, dst.String())
				i++
			}
		}
		p.record(Attack{Class: ClassReconHorizontalScan, MITRE: []string{"T1046", "T1018"}, Actors: eniAddrs(src),
			Targets: tg, Ports: []int{22},
			Description: src.Name + " sweeps port 22 across the application and database subnets"}, cs, nil)
	}

	// Exposure: a security group change opens MySQL to the world; probes reach it.
	{
		tgt := t.LegacyDB
		p.exposeAt = p.at(0.58)
		p.exposeEventID = uuid(r)
		t.openToWorld(p.exposeAt, p.ids.id("sgr", 17))
		actors := ips.externals(4)
		var cs []conn
		for k, a := range actors {
			ts := p.exposeAt + int64(k+1)*p.span(20*time.Minute, 0.015) + r.Int64N(120)
			for j := 0; j < 3+r.IntN(5); j++ {
				c := tcp(r, ts+int64(j)*40, 1+r.Int64N(4), 300+r.Int64N(600), 500+r.Int64N(1500))
				p.between(r, &c, nil, a, tgt, netip.Addr{}, 3306)
				cs = append(cs, c)
			}
		}
		i := p.record(Attack{Class: ClassExposedPort, MITRE: []string{"T1190", "T1046"}, Actors: addrs(actors...),
			Targets: eniAddrs(tgt), Ports: []int{3306},
			Description: "AuthorizeSecurityGroupIngress opened 3306/tcp of " + t.LegacySG.ID + " (" + t.LegacySG.Name +
				") to 0.0.0.0/0; internet hosts then reach MySQL on " + tgt.Name}, cs, nil)
		p.stories = append(p.stories, story{attack: i, gdType: "Recon:EC2/PortProbeUnprotectedPort", gdRole: "TARGET",
			eni: tgt, remote: actors[0], port: 3306, count: len(cs), first: cs[0].start, last: cs[len(cs)-1].end, severity: 5})
	}

	// Lateral movement: a web server reaches for admin ports of internal hosts.
	{
		src := web[0]
		at := p.at(0.62)
		var cs []conn
		var tg []netip.Addr
		k := 0
		for _, dst := range append(append(append([]*ENI{}, app...), db...), t.LegacyDB) {
			tg = append(tg, dst.PrivateIP)
			for _, port := range []int32{22, 445, 3389, 5985} {
				c := p.probe(r, at+int64(k)*37, src, netip.Addr{}, dst, netip.Addr{}, port)
				if !c.reject {
					c = tcp(r, at+int64(k)*37, 30+r.Int64N(200), 4000+r.Int64N(40000), 8000+r.Int64N(120000))
					p.between(r, &c, src, netip.Addr{}, dst, netip.Addr{}, port)
				}
				cs = append(cs, c)
				k++
			}
		}
		p.record(Attack{Class: ClassLateralMovement, MITRE: []string{"T1021", "T1021.004", "T1210"}, Actors: eniAddrs(src),
			Targets: addrs(tg...), Ports: []int{22, 445, 3389, 5985},
			Description: src.Name + " opens SSH, SMB, RDP and WinRM to application and database hosts it never talks to"}, cs, nil)
	}

	// Bulk exfiltration: gigabytes from a database server to a new host.
	{
		src, dst := db[1%len(db)], ips.external()
		from := p.at(0.70)
		until := from + p.span(50*time.Minute, 0.03)
		var ls []conn
		for k := 0; k < 3; k++ {
			c := conn{proto: 6, start: from + int64(k)*7, end: until - int64(k)*11,
				cliFlags: flagSYN | flagFIN, srvFlags: flagSYNACK | flagFIN}
			c.reqBytes = 900_000_000 + r.Int64N(300_000_000)
			c.reqPkts = c.reqBytes / 1400
			c.respByte, c.respPkts = c.reqBytes/40, c.reqPkts/2
			p.between(r, &c, src, netip.Addr{}, nil, dst, 443)
			ls = append(ls, c)
		}
		p.record(Attack{Class: ClassExfilBulk, MITRE: []string{"T1048", "T1567"}, Actors: eniAddrs(src),
			Targets: addrs(dst), Ports: []int{443},
			Description: src.Name + " sends about 3 GB to a never-seen host in under an hour"}, nil, ls)
	}

	// Outbound DoS: a compromised server floods an outside host with UDP.
	{
		src, dst := app[5%len(app)], ips.external()
		at, span := p.at(0.75), p.span(15*time.Minute, 0.02)
		var cs []conn
		for ts := at; ts < at+span; ts += 60 {
			for k := 0; k < 8; k++ {
				c := conn{proto: 17, noResp: true}
				c.start, c.end = fit(ts+r.Int64N(30), 20+r.Int64N(40))
				c.reqPkts = 40_000 + r.Int64N(60_000)
				c.reqBytes = c.reqPkts * 512
				p.between(r, &c, src, netip.Addr{}, nil, dst, 80)
				cs = append(cs, c)
			}
		}
		i := p.record(Attack{Class: ClassDoSOutbound, MITRE: []string{"T1498"}, Actors: eniAddrs(src),
			Targets: addrs(dst), Ports: []int{80},
			Description: src.Name + " floods an outside host with UDP packets on port 80"}, cs, nil)
		p.stories = append(p.stories, story{attack: i, gdType: "Backdoor:EC2/DenialOfService.Udp", gdRole: "ACTOR",
			eni: src, remote: dst, port: 80, count: len(cs), first: cs[0].start, last: cs[len(cs)-1].end, severity: 8})
	}

	// DNS to outside resolvers instead of the VPC resolver (which is never logged).
	{
		src := app[0]
		g, cf := netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("1.1.1.1")
		from, until := p.at(0.15), p.at(0.15)+p.span(6*time.Hour, 0.1)
		var cs []conn
		for ts := from; ts < until; ts += 60 + r.Int64N(120) {
			var c conn
			if r.IntN(4) == 0 {
				c = tcp(r, ts, 1+r.Int64N(3), 600+r.Int64N(400), 900+r.Int64N(1200))
				p.between(r, &c, src, netip.Addr{}, nil, cf, 853)
			} else {
				c = conn{proto: 17, reqPkts: 1, respPkts: 1, reqBytes: 60 + r.Int64N(40), respByte: 90 + r.Int64N(300)}
				c.start, c.end = fit(ts, 0)
				p.between(r, &c, src, netip.Addr{}, nil, g, 53)
			}
			cs = append(cs, c)
		}
		p.record(Attack{Class: ClassDNSExternalResolver, MITRE: []string{"T1071.004", "T1572"}, Actors: eniAddrs(src),
			Targets: addrs(g, cf), Ports: []int{53, 853},
			Description: src.Name + " resolves names through 8.8.8.8 (UDP 53) and 1.1.1.1 (DNS over TLS, 853)"}, cs, nil)
	}

	p.planBenign(r)
}

// planBenign adds the look-alikes: nightly backups, monitoring polls and the
// scheduled internal vulnerability scan.
func (p *plan) planBenign(r *rand.Rand) {
	t := p.top
	// Backups: every night at 06:30 UTC (01:30 in us-east-1), to the usual host.
	nights := 0
	for day := p.start - p.start%86400; day < p.end; day += 86400 {
		at := day + 6*3600 + 1800
		span := p.span(45*time.Minute, 0.03)
		if at < p.start || at+span >= p.end || (at+span > p.gapStart && at < p.gapEnd) {
			continue
		}
		p.backup(r, at, span)
		nights++
	}
	if nights == 0 {
		p.backup(r, p.at(0.88), p.span(45*time.Minute, 0.03))
	}

	// Monitoring: Prometheus in the shared VPC scrapes every host each minute.
	{
		var tg []*ENI
		tg = append(tg, t.Web...)
		tg = append(tg, t.App...)
		tg = append(tg, t.DB...)
		tg = append(tg, t.Bastion, t.LegacyDB)
		first, last := p.end, p.start
		for ts := p.start; ts < p.end; ts += 60 {
			first, last = min(first, ts), max(last, ts+59)
		}
		// The scrapes are generated slot by slot (background.go); the truth
		// entry covers the whole span.
		p.attacks = append(p.attacks, Attack{ID: ClassBenignMonitoring + "-1", Class: ClassBenignMonitoring, Benign: true,
			MITRE: []string{}, Actors: eniAddrs(t.Monitor), Targets: eniAddrs(tg...), ENIs: append([]string{t.Monitor.ID}, eniIDs(tg)...),
			Ports: []int{9100}, Start: time.Unix(first, 0).UTC(), End: time.Unix(last, 0).UTC(),
			Description: "Prometheus scrapes node_exporter on every host every 60 s from the shared-services VPC"})
	}

	// Vulnerability scanner: daily at 08:00 UTC, the top ports of app and db hosts.
	scans := 0
	for day := p.start - p.start%86400; day < p.end; day += 86400 {
		at := day + 8*3600
		span := p.span(30*time.Minute, 0.03)
		if at < p.start || at+span >= p.end || (at+span > p.gapStart && at < p.gapEnd) {
			continue
		}
		p.vulnScan(r, at, span)
		scans++
	}
	if scans == 0 {
		p.vulnScan(r, p.at(0.92), p.span(30*time.Minute, 0.03))
	}
}

func eniIDs(es []*ENI) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func (p *plan) backup(r *rand.Rand, at, span int64) {
	src := p.top.DB[0]
	c := conn{proto: 6, start: at, end: at + span, cliFlags: flagSYN | flagFIN, srvFlags: flagSYNACK | flagFIN}
	c.reqBytes = 6_000_000_000 + r.Int64N(2_000_000_000)
	c.reqPkts = c.reqBytes / 1400
	c.respByte, c.respPkts = c.reqBytes/50, c.reqPkts/2
	p.between(r, &c, src, netip.Addr{}, nil, p.backupHost, 443)
	p.record(Attack{Class: ClassBenignBackup, Benign: true, MITRE: []string{}, Actors: eniAddrs(src),
		Targets: addrs(p.backupHost), Ports: []int{443},
		Description: "nightly database backup (6-8 GB) to the usual off-site backup host"}, nil, []conn{c})
}

func (p *plan) vulnScan(r *rand.Rand, at, span int64) {
	t := p.top
	src := t.Scanner
	var tg []*ENI
	tg = append(tg, t.App...)
	tg = append(tg, t.DB...)
	var cs []conn
	ports := sensitivePorts
	n := int64(len(tg) * len(ports))
	k := int64(0)
	for _, dst := range tg {
		for _, port := range ports {
			cs = append(cs, p.probe(r, at+k*span/n, src, netip.Addr{}, dst, netip.Addr{}, port))
			k++
		}
	}
	p.record(Attack{Class: ClassBenignVulnScanner, Benign: true, MITRE: []string{}, Actors: eniAddrs(src),
		Targets: eniAddrs(tg...), Ports: intPorts(sensitivePorts),
		Description: "scheduled internal vulnerability scan of the application and database hosts"}, cs, nil)
}

func uuid(r *rand.Rand) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 36)
	for i := range b {
		switch i {
		case 8, 13, 18, 23:
			b[i] = '-'
		default:
			b[i] = hex[r.IntN(16)]
		}
	}
	return string(b)
}

func intPorts(ps []int32) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = int(p)
	}
	return out
}
