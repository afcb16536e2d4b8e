package simulate

import (
	"net/netip"
	"path/filepath"
	"testing"
)

// TestIPv6 checks the dual-stack account: IPv6 records exist, the
// account's side of each is inside a VPC /56 on an interface that has that
// address in the inventory, and truth has attacks over IPv6.
func TestIPv6(t *testing.T) {
	var vpcs []netip.Prefix
	for _, c := range shared.truth.InternalCIDRs {
		if p := netip.MustParsePrefix(c); p.Addr().Is6() {
			if p.Bits() != 56 {
				t.Errorf("VPC IPv6 block %s is not a /56", p)
			}
			vpcs = append(vpcs, p)
		}
	}
	if len(vpcs) != 2 {
		t.Fatalf("internal_cidrs %v: want the two VPCs' /56 blocks", shared.truth.InternalCIDRs)
	}
	var inv struct {
		NetworkInterfaces []struct {
			NetworkInterfaceId string
			Ipv6Addresses      []struct{ Ipv6Address string }
		}
	}
	readJSON(t, filepath.Join(shared.dir, "inventory", "describe-network-interfaces.json"), &inv)
	eniOf := map[string]string{}
	for _, n := range inv.NetworkInterfaces {
		for _, a := range n.Ipv6Addresses {
			eniOf[a.Ipv6Address] = n.NetworkInterfaceId
		}
	}
	inVPC := func(a netip.Addr) bool {
		for _, p := range vpcs {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	n6 := 0
	for _, f := range shared.flows {
		if f.status != "OK" {
			continue
		}
		src, dst := netip.MustParseAddr(f.src), netip.MustParseAddr(f.dst)
		if src.Is6() != dst.Is6() {
			t.Fatalf("mixed address families: %+v", f)
		}
		if !src.Is6() {
			continue
		}
		n6++
		local := src
		if f.dir == "ingress" {
			local = dst
		}
		if !inVPC(local) || eniOf[local.String()] != f.eni {
			t.Fatalf("IPv6 record whose local address %s is not the ENI's (%s): %+v", local, eniOf[local.String()], f)
		}
		if f.dir == "egress" && inVPC(dst) {
			t.Fatalf("internal IPv6 traffic is not simulated: %+v", f)
		}
	}
	if n6 < 500 {
		t.Errorf("%d IPv6 records; want the dual-stack web tier's traffic", n6)
	}
	v6 := map[string]bool{}
	for _, a := range shared.truth.Attacks {
		for _, ip := range append(append([]string{}, a.Actors...), a.Targets...) {
			if netip.MustParseAddr(ip).Is6() {
				v6[a.Class] = true
			}
		}
	}
	if !v6[ClassC2Beacon] || !v6[ClassBruteForce] {
		t.Errorf("attack classes over IPv6: %v; want c2_beacon and brute_force", v6)
	}
}

// TestNACLDeny checks the public subnets' ACL: a deny rule in the
// inventory, and REJECTs from that network on ports the security groups
// admit (so only the ACL explains them).
func TestNACLDeny(t *testing.T) {
	var inv struct {
		NetworkAcls []struct {
			Entries []struct {
				RuleNumber int
				RuleAction string
				Egress     bool
				CidrBlock  string
			}
			Associations []struct{ SubnetId string }
		}
	}
	readJSON(t, filepath.Join(shared.dir, "inventory", "describe-network-acls.json"), &inv)
	var deny netip.Prefix
	for _, a := range inv.NetworkAcls {
		for _, e := range a.Entries {
			if e.RuleAction == "deny" && !e.Egress && e.RuleNumber < 32767 {
				deny = netip.MustParsePrefix(e.CidrBlock)
			}
		}
	}
	if !deny.IsValid() {
		t.Fatal("no network ACL deny rule in the inventory")
	}
	rejected, accepted := 0, 0
	for _, f := range shared.flows {
		if f.status != "OK" || f.dir != "ingress" || !deny.Contains(netip.MustParseAddr(f.src)) {
			continue
		}
		if f.action == "ACCEPT" {
			accepted++
		} else if f.dport == 443 || f.dport == 22 {
			rejected++
		}
	}
	if accepted > 0 || rejected == 0 {
		t.Errorf("from the denied network %s: %d accepted, %d rejected on 443/22; want none accepted, some rejected", deny, accepted, rejected)
	}
}
