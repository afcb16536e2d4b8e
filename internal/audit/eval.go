// Package audit checks security groups and network ACLs against the traffic
// they really see: which rule let each flow through, which REJECT a NACL or a
// security group decided, which rules are dead or open to the world, and
// whether segmentation policies hold.
package audit

import (
	"net/netip"

	"github.com/flowhunt/flowhunt/internal/enrich"
)

// Conn is one observed packet direction on one interface, with who opened
// the connection it belongs to. Security groups judge the connection (they
// are stateful), network ACLs judge the packet (they are not).
type Conn struct {
	ENI        string
	Egress     bool // the packet leaves the interface
	Protocol   int
	Remote     netip.Addr
	LocalPort  int
	RemotePort int
	// LocalOpened is true when the interface opened the connection, so this
	// packet is a request when Egress and a reply when not.
	LocalOpened bool
}

// Request reports whether the packet travels in the direction the
// connection was opened.
func (c *Conn) Request() bool { return c.LocalOpened == c.Egress }

// Deciders of a verdict.
const (
	BySecurityGroup = "security-group"
	ByNetworkACL    = "network-acl"
)

// Verdict is what the loaded rules say about a Conn.
type Verdict struct {
	Known bool // the ENI is in the inventory

	// Security groups: the rules (of the union of the ENI's groups) that
	// allow the connection in its opening direction.
	SGAllowed bool
	SGRules   []*enrich.SGRule

	// Network ACL of the ENI's subnet, for this packet's direction.
	NACLApplies bool // false when the peer is in the same subnet
	NACL        *enrich.NetworkACL
	NACLEntry   *enrich.NACLEntry // the first matching entry (the deciding one)

	Allowed  bool
	DeniedBy string // BySecurityGroup or ByNetworkACL when !Allowed
}

// NACLAllowed reports whether the ACL lets the packet through.
func (v *Verdict) NACLAllowed() bool {
	return !v.NACLApplies || (v.NACLEntry != nil && v.NACLEntry.Allow)
}

// Evaluator judges connections against an inventory.
type Evaluator struct {
	inv *enrich.Inventory
}

// NewEvaluator returns an evaluator over inv (which must be indexed).
func NewEvaluator(inv *enrich.Inventory) *Evaluator { return &Evaluator{inv: inv} }

// Evaluate judges c. For an inbound packet the NACL is met first, so when
// both would deny it the NACL is named; for an outbound packet the security
// group is met first.
func (e *Evaluator) Evaluate(c Conn) Verdict {
	var v Verdict
	eni := e.inv.ENIByID(c.ENI)
	if eni == nil {
		return v
	}
	v.Known = true
	remote := c.Remote.Unmap()

	// Security groups: the opening direction decides which rule set applies
	// and which port is the service port; replies ride on the state.
	sgEgress, port := false, c.LocalPort
	if c.LocalOpened {
		sgEgress, port = true, c.RemotePort
	}
	for _, gid := range eni.Groups {
		g := e.inv.SecurityGroup(gid)
		if g == nil {
			continue
		}
		for i := range g.Rules {
			r := &g.Rules[i]
			if r.Egress == sgEgress && e.sgRuleMatches(r, c.Protocol, port, remote) {
				v.SGRules = append(v.SGRules, r)
			}
		}
	}
	// An interface without groups (a NAT gateway's) is not filtered by any.
	v.SGAllowed = len(v.SGRules) > 0 || len(eni.Groups) == 0

	// Network ACL: only on traffic that crosses the subnet boundary.
	v.NACL = e.inv.NACLForSubnet(eni.SubnetID)
	v.NACLApplies = v.NACL != nil
	if s := e.inv.Subnet(eni.SubnetID); s != nil && v.NACLApplies {
		for _, p := range s.CIDRs {
			if p.Contains(remote) {
				v.NACLApplies = false
			}
		}
	}
	if v.NACLApplies {
		dstPort := c.LocalPort
		if c.Egress {
			dstPort = c.RemotePort
		}
		v.NACLEntry = FirstMatch(v.NACL, c.Egress, c.Protocol, dstPort, remote)
	}

	naclOK := v.NACLAllowed()
	switch {
	case v.SGAllowed && naclOK:
		v.Allowed = true
	case !c.Egress && !naclOK:
		v.DeniedBy = ByNetworkACL
	case !v.SGAllowed:
		v.DeniedBy = BySecurityGroup
	default:
		v.DeniedBy = ByNetworkACL
	}
	return v
}

// FirstMatch returns the entry of acl that decides a packet: entries of the
// packet's direction in rule-number order, first match wins. The caller
// treats nil (no entry, not even '*') as deny.
func FirstMatch(acl *enrich.NetworkACL, egress bool, proto, dstPort int, peer netip.Addr) *enrich.NACLEntry {
	for i := range acl.Entries {
		en := &acl.Entries[i]
		if en.Egress != egress {
			continue
		}
		if en.Protocol != enrich.AnyProtocol && en.Protocol != proto {
			continue
		}
		if en.CIDR.Addr().Is4() != peer.Is4() || !en.CIDR.Contains(peer) {
			continue
		}
		if (proto == enrich.ProtoTCP || proto == enrich.ProtoUDP) && (dstPort < en.FromPort || dstPort > en.ToPort) {
			continue
		}
		return en
	}
	return nil
}

func (e *Evaluator) sgRuleMatches(r *enrich.SGRule, proto, port int, peer netip.Addr) bool {
	if r.Protocol != enrich.AnyProtocol {
		if r.Protocol != proto {
			return false
		}
		// TCP and UDP rules bound the port; ICMP rules hold type/code, which
		// flow logs do not carry, so any ICMP rule matches ICMP traffic.
		if (proto == enrich.ProtoTCP || proto == enrich.ProtoUDP) && r.FromPort >= 0 && (port < r.FromPort || port > r.ToPort) {
			return false
		}
	}
	switch {
	case r.CIDR.IsValid():
		return r.CIDR.Addr().Is4() == peer.Is4() && r.CIDR.Contains(peer)
	case r.PrefixList != "":
		for _, p := range e.inv.PrefixLists[r.PrefixList] {
			if p.Contains(peer) {
				return true
			}
		}
	case r.PeerGroup != "":
		// A referenced group admits the private addresses of its members.
		for _, a := range e.inv.GroupMembers(r.PeerGroup) {
			if a == peer {
				return true
			}
		}
	}
	return false
}
