package simulate

import (
	"net/netip"
)

// conn is one connection (or one-way flow) between a client and a server.
// emit turns it into the records every ENI on its path logs: both directions
// on the client's ENI, on the server's ENI and on a NAT gateway in between,
// one record per direction per aggregation window.
type conn struct {
	proto              int32
	cli, srv           *ENI // nil when the side is outside the account
	cliAddr, srvAddr   netip.Addr
	cport, sport       int32
	nat                *ENI // NAT gateway the client's traffic leaves through
	natPort            int32
	start, end         int64 // first and last packet, unix seconds
	reqPkts, reqBytes  int64 // client to server, whole connection
	respPkts, respByte int64 // server to client, whole connection
	reject             bool  // the server's security group drops it
	noResp             bool  // nothing answers (no host, one-way UDP, flood)
	cliFlags, srvFlags int32 // OR of flags over the whole connection (TCP)
	srvSvc             string
	cliPath, srvPath   int32 // traffic-path of each side's egress
}

// slotOut collects the records of one 5-minute slot, per VPC.
type slotOut struct {
	t0, t1 int64
	recs   [][]record
}

func (o *slotOut) add(r record) {
	i := r.eni.VPC.index
	o.recs[i] = append(o.recs[i], r)
}

// emit writes the records of c whose end falls in the slot.
func (o *slotOut) emit(c *conn) {
	if c.cli != nil {
		o.vantage(c, c.cli, 0)
	}
	if c.nat != nil {
		o.vantage(c, c.nat, 1)
	}
	if c.srv != nil {
		o.vantage(c, c.srv, 2)
	}
}

// vantage emits the records e logs for c; side is 0 client, 1 NAT, 2 server.
func (o *slotOut) vantage(c *conn, e *ENI, side int) {
	w := e.VPC.Interval
	first := c.start
	if lo := o.t0 - w; first < lo {
		first = lo
	}
	for ws := first - first%w; ws <= c.end && ws < o.t1; ws += w {
		ps, pe := max(c.start, ws), min(c.end, ws+w-1)
		if pe < o.t0 || pe >= o.t1 || ps > pe {
			continue
		}
		o.piece(c, e, side, ps, pe)
	}
}

func share(total int64, num, den int64) int64 {
	if total <= 0 {
		return 0
	}
	v := total * num / den
	if v < 1 {
		v = 1
	}
	return v
}

func (o *slotOut) piece(c *conn, e *ENI, side int, ps, pe int64) {
	dur := c.end - c.start + 1
	num := pe - ps + 1
	reqP, reqB := share(c.reqPkts, num, dur), share(c.reqBytes, num, dur)
	respP, respB := share(c.respPkts, num, dur), share(c.respByte, num, dur)
	var cf, sf int32
	if c.proto == 6 {
		switch {
		case ps == c.start && pe == c.end:
			cf, sf = c.cliFlags, c.srvFlags
		case ps == c.start:
			cf, sf = c.cliFlags&flagSYN, c.srvFlags&flagSYNACK
		case pe == c.end:
			cf, sf = c.cliFlags&(flagFIN|flagRST), c.srvFlags&(flagFIN|flagRST)
		}
	}
	answered := !c.reject && !c.noResp
	base := record{eni: e, proto: c.proto, start: ps, end: pe}
	switch side {
	case 0: // client ENI: its request leaves, the answer arrives
		r := base
		r.src, r.dst, r.pktSrc, r.pktDst = c.cliAddr, c.srvAddr, c.cliAddr, c.srvAddr
		r.srcPort, r.dstPort, r.packets, r.bytes, r.flags = c.cport, c.sport, reqP, reqB, cf
		r.egress, r.path, r.dstSvc = true, c.cliPath, c.srvSvc
		o.add(r)
		if answered {
			r = base
			r.src, r.dst, r.pktSrc, r.pktDst = c.srvAddr, c.cliAddr, c.srvAddr, c.cliAddr
			r.srcPort, r.dstPort, r.packets, r.bytes, r.flags = c.sport, c.cport, respP, respB, sf
			r.srcSvc = c.srvSvc
			o.add(r)
		}
	case 1: // NAT gateway: four records, addresses as AWS's NAT example shows
		nat := e.PrivateIP
		r := base
		r.src, r.dst, r.pktSrc, r.pktDst = c.cliAddr, nat, c.cliAddr, c.srvAddr
		r.srcPort, r.dstPort, r.packets, r.bytes, r.flags = c.cport, c.sport, reqP, reqB, cf
		o.add(r)
		r = base
		r.src, r.dst, r.pktSrc, r.pktDst = nat, c.srvAddr, nat, c.srvAddr
		r.srcPort, r.dstPort, r.packets, r.bytes, r.flags = c.natPort, c.sport, reqP, reqB, cf
		r.egress, r.path = true, 2
		o.add(r)
		if answered {
			r = base
			r.src, r.dst, r.pktSrc, r.pktDst = c.srvAddr, nat, c.srvAddr, nat
			r.srcPort, r.dstPort, r.packets, r.bytes, r.flags = c.sport, c.natPort, respP, respB, sf
			o.add(r)
			r = base
			r.src, r.dst, r.pktSrc, r.pktDst = nat, c.cliAddr, c.srvAddr, c.cliAddr
			r.srcPort, r.dstPort, r.packets, r.bytes, r.flags = c.sport, c.cport, respP, respB, sf
			r.egress, r.path = true, 1
			o.add(r)
		}
	case 2: // server ENI: the request arrives (or is rejected), the answer leaves
		r := base
		r.src, r.dst, r.pktSrc, r.pktDst = c.cliAddr, c.srvAddr, c.cliAddr, c.srvAddr
		r.srcPort, r.dstPort, r.packets, r.bytes, r.flags = c.cport, c.sport, reqP, reqB, cf
		r.reject = c.reject
		o.add(r)
		if answered {
			r = base
			r.src, r.dst, r.pktSrc, r.pktDst = c.srvAddr, c.cliAddr, c.srvAddr, c.cliAddr
			r.srcPort, r.dstPort, r.packets, r.bytes, r.flags = c.sport, c.cport, respP, respB, sf
			r.egress, r.path = true, c.srvPath
			o.add(r)
		}
	}
}

// marker emits a NODATA or SKIPDATA record for e covering window [ws, ws+w).
func (o *slotOut) marker(e *ENI, ws int64, status uint8, jitter int64) {
	o.add(record{eni: e, status: status, start: ws + jitter, end: ws + e.VPC.Interval - 1 - jitter/2})
}
