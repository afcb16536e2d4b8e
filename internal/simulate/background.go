package simulate

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"sort"
)

// activity returns the diurnal and weekly rhythm at t (unix seconds): about
// 1 at 14:00 in us-east-1 on a weekday, about 0.15 at night, less at weekends.
func activity(t int64) float64 {
	h := math.Mod(float64(t)/3600-5, 24) // UTC-5
	if h < 0 {
		h += 24
	}
	d := h - 14
	f := 0.15 + 0.85*math.Exp(-d*d/(2*4.5*4.5))
	if wd := ((t-5*3600)/86400 + 4) % 7; wd == 0 || wd == 6 { // 1970-01-01 was a Thursday
		f *= 0.55
	}
	return f
}

// poisson draws a count with mean lambda.
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// zipf picks an index in [0,n) favouring small indexes, so a few customers
// and endpoints account for most connections, as in real traffic.
func zipf(r *rand.Rand, n int) int {
	u := r.Float64()
	return int(float64(n) * u * u * u)
}

var scanPorts = []int32{22, 23, 80, 443, 445, 3389, 8080, 21, 25, 3306, 5432, 6379, 9200, 8443, 5900, 1433, 2375, 8888, 81, 7547}

// background generates the slot's ordinary traffic into o.
func (p *plan) background(r *rand.Rand, o *slotOut) {
	t := p.top
	s := p.cfg.Scale
	f := activity(o.t0 + slotSeconds/2)
	in := func(dur int64) int64 { return o.t0 + r.Int64N(slotSeconds-dur) }
	var c conn

	// Customers reach the load balancers over HTTPS.
	for n := poisson(r, 330*s*f); n > 0; n-- {
		dur := 1 + r.Int64N(90)
		c = tcp(r, in(dur), dur, 700+r.Int64N(12000), 2000+r.Int64N(250000))
		port := int32(443)
		if r.IntN(20) == 0 {
			port, c.respByte, c.respPkts = 80, 400, 3
		}
		p.between(r, &c, nil, p.customers[zipf(r, len(p.customers))], t.LB[r.IntN(len(t.LB))], netip.Addr{}, port)
		o.emit(&c)
	}
	// Load balancers forward to the web tier.
	for n := poisson(r, 220*s*f); n > 0; n-- {
		dur := 1 + r.Int64N(60)
		c = tcp(r, in(dur), dur, 900+r.Int64N(15000), 2000+r.Int64N(250000))
		p.between(r, &c, t.LB[r.IntN(len(t.LB))], netip.Addr{}, t.Web[r.IntN(len(t.Web))], netip.Addr{}, 8080)
		c.cport = highPort(r)
		o.emit(&c)
	}
	// Web to application, application to databases.
	for n := poisson(r, 170*s*f); n > 0; n-- {
		dur := r.Int64N(30)
		c = tcp(r, in(dur), dur, 500+r.Int64N(6000), 1000+r.Int64N(60000))
		p.between(r, &c, t.Web[r.IntN(len(t.Web))], netip.Addr{}, t.App[r.IntN(len(t.App))], netip.Addr{}, 8080)
		o.emit(&c)
	}
	for n := poisson(r, 160*s*f); n > 0; n-- {
		dur := r.Int64N(20)
		c = tcp(r, in(dur), dur, 300+r.Int64N(3000), 500+r.Int64N(90000))
		p.between(r, &c, t.App[r.IntN(len(t.App))], netip.Addr{}, t.DB[zipf(r, len(t.DB))], netip.Addr{}, 5432)
		o.emit(&c)
	}
	for n := poisson(r, 12*s*f); n > 0; n-- {
		dur := r.Int64N(20)
		c = tcp(r, in(dur), dur, 300+r.Int64N(2000), 500+r.Int64N(40000))
		p.between(r, &c, t.App[r.IntN(len(t.App))], netip.Addr{}, t.LegacyDB, netip.Addr{}, 3306)
		o.emit(&c)
	}
	// Application servers call SaaS APIs through the NAT gateway and use S3
	// through the gateway endpoint; web servers fetch updates directly.
	for n := poisson(r, 60*s*f); n > 0; n-- {
		dur := r.Int64N(40)
		c = tcp(r, in(dur), dur, 600+r.Int64N(8000), 1500+r.Int64N(40000))
		p.between(r, &c, t.App[r.IntN(len(t.App))], netip.Addr{}, nil, p.saas[zipf(r, len(p.saas))], 443)
		o.emit(&c)
	}
	for n := poisson(r, 30*s*f); n > 0; n-- {
		dur := r.Int64N(20)
		c = tcp(r, in(dur), dur, 500+r.Int64N(200000), 500+r.Int64N(400000))
		cli := t.App[r.IntN(len(t.App))]
		if r.IntN(3) == 0 {
			cli = t.Web[r.IntN(len(t.Web))]
		}
		p.between(r, &c, cli, netip.Addr{}, nil, p.s3IPs[r.IntN(len(p.s3IPs))], 443)
		o.emit(&c)
	}
	for n := poisson(r, 6*s*f); n > 0; n-- {
		dur := r.Int64N(30)
		c = tcp(r, in(dur), dur, 500+r.Int64N(3000), 5000+r.Int64N(2_000_000))
		p.between(r, &c, t.Web[r.IntN(len(t.Web))], netip.Addr{}, nil, p.saas[zipf(r, len(p.saas))], []int32{80, 443}[r.IntN(2)])
		o.emit(&c)
	}
	// Administrators: SSH from the office to the bastion, then onwards.
	for n := poisson(r, 1.2*f*f); n > 0; n-- {
		dur := 20 + r.Int64N(250)
		c = tcp(r, in(dur), dur, 5000+r.Int64N(50000), 20000+r.Int64N(400000))
		p.between(r, &c, nil, p.admins[r.IntN(len(p.admins))], t.Bastion, netip.Addr{}, 22)
		o.emit(&c)
		var dst *ENI
		if r.IntN(2) == 0 {
			dst = t.App[r.IntN(len(t.App))]
		} else {
			dst = t.DB[r.IntN(len(t.DB))]
		}
		c2 := tcp(r, c.start+3, c.end-c.start-6, 3000+r.Int64N(30000), 10000+r.Int64N(300000))
		p.between(r, &c2, t.Bastion, netip.Addr{}, dst, netip.Addr{}, 22)
		o.emit(&c2)
	}
	// Analytics workers in the peered VPC read from the databases.
	for n := poisson(r, 25*s*f); n > 0; n-- {
		dur := r.Int64N(50)
		c = tcp(r, in(dur), dur, 400+r.Int64N(3000), 5000+r.Int64N(900000))
		p.between(r, &c, t.Analytics[r.IntN(len(t.Analytics))], netip.Addr{}, t.DB[r.IntN(len(t.DB))], netip.Addr{}, 5432)
		o.emit(&c)
	}
	// Monitoring: every host scraped once a minute (benign look-alike).
	for m := o.t0; m < o.t1; m += 60 {
		for _, grp := range [][]*ENI{t.Web, t.App, t.DB, {t.Bastion, t.LegacyDB}} {
			for _, dst := range grp {
				c = tcp(r, m+r.Int64N(3), 0, 180+r.Int64N(40), 6000+r.Int64N(3000))
				p.between(r, &c, t.Monitor, netip.Addr{}, dst, netip.Addr{}, 9100)
				o.emit(&c)
			}
		}
	}
	// Internet background: scanners probe the public addresses.
	public := [][]*ENI{t.Web, t.LB, {t.Bastion, t.LegacyDB, t.NAT}}
	for n := poisson(r, 90*s); n > 0; n-- {
		grp := public[r.IntN(len(public))]
		dst := grp[r.IntN(len(grp))]
		port := scanPorts[zipf(r, len(scanPorts))]
		if dst == t.LegacyDB && port == 3306 {
			port = 3389 // exposure probes are the attack's, kept apart for exact truth
		}
		src := p.scanners[zipf(r, len(p.scanners))]
		if r.IntN(12) == 0 {
			c = conn{proto: 1, reqPkts: 1, reqBytes: 28 + 56*r.Int64N(2)}
			c.start, c.end = fit(in(0), 0)
			p.between(r, &c, nil, src, dst, netip.Addr{}, 0)
			c.cport = 0
			c.reject = true
		} else {
			c = p.probe(r, in(3), nil, src, dst, netip.Addr{}, port)
		}
		if dst == t.NAT {
			c.reject, c.respPkts, c.respByte = true, 0, 0 // unsolicited traffic to a NAT gateway is dropped
		}
		o.emit(&c)
	}
	// Rare SKIPDATA on a busy interface.
	if r.IntN(400) == 0 {
		e := t.Web[r.IntN(len(t.Web))]
		ws := o.t0 - o.t0%e.VPC.Interval
		if ws+e.VPC.Interval-1 < o.t1 {
			o.marker(e, ws, statusSkipData, r.Int64N(10))
		}
	}
}

// longAndMarkers emits the pieces of long connections and NODATA records
// that end in the slot.
func (p *plan) longAndMarkers(r *rand.Rand, o *slotOut) {
	for i := range p.long {
		c := &p.long[i]
		if c.end >= o.t0-600 && c.start < o.t1 {
			o.emit(c)
		}
	}
	for i := range p.bgLong {
		c := &p.bgLong[i]
		if c.end >= o.t0-600 && c.start < o.t1 {
			o.emit(c)
		}
	}
	for _, e := range p.top.Idle {
		w := e.VPC.Interval
		for ws := o.t0 - o.t0%w; ws < o.t1; ws += w {
			if end := ws + w - 1; end >= o.t0 && end < o.t1 {
				o.marker(e, ws, statusNoData, r.Int64N(20))
			}
		}
	}
}

// eventsIn returns the planned short connections starting in the slot.
func (p *plan) eventsIn(t0, t1 int64) []conn {
	i := sort.Search(len(p.events), func(i int) bool { return p.events[i].start >= t0 })
	j := sort.Search(len(p.events), func(i int) bool { return p.events[i].start >= t1 })
	return p.events[i:j]
}

// planBackgroundLong adds the long-lived ordinary connections: database
// replication streams that stay open for the whole span.
func (p *plan) planBackgroundLong(r *rand.Rand) {
	db := p.top.DB
	for i := 1; i < len(db) && i < 3; i++ {
		c := conn{proto: 6, start: p.start + r.Int64N(60), end: p.end - 1 - r.Int64N(60), cliFlags: 0, srvFlags: 0}
		days := (c.end - c.start) / 3600
		c.reqBytes, c.reqPkts = days*30_000_000, days*40_000
		c.respByte, c.respPkts = days*2_000_000, days*30_000
		p.between(r, &c, db[i], netip.Addr{}, db[0], netip.Addr{}, 5432)
		p.bgLong = append(p.bgLong, c)
	}
}
