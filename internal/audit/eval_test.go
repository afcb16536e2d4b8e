package audit

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/enrich"
)

func testInventory(t testing.TB) *enrich.Inventory {
	t.Helper()
	inv, err := enrich.LoadInventoryDir("testdata/inventory")
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestEvaluate(t *testing.T) {
	ev := NewEvaluator(testInventory(t))
	// f checks one connection. sgRules lists the allowing rule ids ("" for
	// none); nacl is the deciding entry ("-" when the ACL does not apply,
	// "none" when no entry matched); denied is "" when allowed.
	f := func(name string, c Conn, sgRules, nacl, denied string) {
		t.Helper()
		v := ev.Evaluate(c)
		if !v.Known {
			t.Fatalf("%s: ENI %s unknown", name, c.ENI)
		}
		var ids []string
		for _, r := range v.SGRules {
			ids = append(ids, r.ID)
		}
		gotNACL := "-"
		if v.NACLApplies {
			gotNACL = "none"
			if v.NACLEntry != nil {
				gotNACL = v.NACL.ID + "#" + v.NACLEntry.RuleText()
			}
		}
		got := strings.Join(ids, ",") + " | " + gotNACL + " | " + v.DeniedBy
		want := sgRules + " | " + nacl + " | " + denied
		if got != want {
			t.Errorf("%s: (-got +want)\n- %s\n+ %s", name, got, want)
		}
		if v.Allowed != (denied == "") {
			t.Errorf("%s: Allowed = %v", name, v.Allowed)
		}
	}
	ip := netip.MustParseAddr

	f("https request from the internet reaches web",
		Conn{ENI: "eni-web", Protocol: 6, Remote: ip("198.51.100.9"), LocalPort: 443, RemotePort: 50123},
		"sg-web:in:0", "acl-web#100", "")
	f("web's reply on an ephemeral port: SG state allows, NACL has no outbound ephemeral rule",
		Conn{ENI: "eni-web", Egress: true, Protocol: 6, Remote: ip("198.51.100.9"), LocalPort: 443, RemotePort: 50123},
		"sg-web:in:0", "acl-web#*", ByNetworkACL)
	f("reply to web's own outbound https comes back on an ephemeral port the NACL allows",
		Conn{ENI: "eni-web", Protocol: 6, Remote: ip("93.184.216.34"), LocalPort: 40000, RemotePort: 443, LocalOpened: true},
		"sg-web:out:0", "acl-web#120", "")
	f("ssh from outside the office CIDR: NACL allows, no SG rule",
		Conn{ENI: "eni-web", Protocol: 6, Remote: ip("198.51.100.9"), LocalPort: 22, RemotePort: 41000},
		"", "acl-web#110", BySecurityGroup)
	f("ssh from the office",
		Conn{ENI: "eni-web", Protocol: 6, Remote: ip("203.0.113.5"), LocalPort: 22, RemotePort: 41000},
		"sg-web:in:2", "acl-web#110", "")
	f("IPv6 https: SG ::/0 allows, NACL has no IPv6 entry so it denies",
		Conn{ENI: "eni-web", Protocol: 6, Remote: ip("2001:db8::1"), LocalPort: 443, RemotePort: 50000},
		"sg-web:in:1", "none", ByNetworkACL)
	f("overlapping rules: group reference and CIDR range both allow 8080",
		Conn{ENI: "eni-app", Protocol: 6, Remote: ip("10.0.1.10"), LocalPort: 8080, RemotePort: 51000},
		"sg-app:in:0,sg-app:in:1", "acl-default#100", "")
	f("group reference does not admit a non-member; the CIDR rule still does",
		Conn{ENI: "eni-app", Protocol: 6, Remote: ip("10.0.3.7"), LocalPort: 8080, RemotePort: 51000},
		"sg-app:in:1", "acl-default#100", "")
	f("rule-number order: deny 90 for one host wins over allow 110 for its subnet",
		Conn{ENI: "eni-db", Protocol: 6, Remote: ip("10.0.2.66"), LocalPort: 22, RemotePort: 52000},
		"", "acl-db#90", ByNetworkACL)
	f("another host of the subnet passes the NACL (110) but no SG rule opens 22",
		Conn{ENI: "eni-db", Protocol: 6, Remote: ip("10.0.2.5"), LocalPort: 22, RemotePort: 52000},
		"", "acl-db#110", BySecurityGroup)
	f("postgres from app: group reference and the open rule overlap",
		Conn{ENI: "eni-db", Protocol: 6, Remote: ip("10.0.2.5"), LocalPort: 5432, RemotePort: 52000},
		"sg-db:in:0,sg-db:in:1", "acl-db#100", "")
	f("postgres from the internet through the misconfigured open rule",
		Conn{ENI: "eni-db", Protocol: 6, Remote: ip("198.51.100.77"), LocalPort: 5432, RemotePort: 52000},
		"sg-db:in:1", "acl-db#100", "")
	f("db egress to S3 through the prefix list",
		Conn{ENI: "eni-db", Egress: true, Protocol: 6, Remote: ip("52.216.10.1"), LocalPort: 40001, RemotePort: 443, LocalOpened: true},
		"sg-db:out:0", "acl-db#120", "")
	f("db egress to a host outside the prefix list: SG decides before the NACL",
		Conn{ENI: "eni-db", Egress: true, Protocol: 6, Remote: ip("8.8.8.8"), LocalPort: 40001, RemotePort: 443, LocalOpened: true},
		"", "acl-db#120", BySecurityGroup)
	f("udp to db: NACL has only tcp entries so '*' denies inbound first",
		Conn{ENI: "eni-db", Protocol: 17, Remote: ip("198.51.100.77"), LocalPort: 5432, RemotePort: 52000},
		"", "acl-db#*", ByNetworkACL)
	f("traffic inside the subnet skips the NACL",
		Conn{ENI: "eni-app", Protocol: 6, Remote: ip("10.0.2.66"), LocalPort: 8000, RemotePort: 52000},
		"sg-app:in:1", "-", "")
}

func TestInventoryLookup(t *testing.T) {
	inv := testInventory(t)
	f := func(eni, addr, want string) {
		t.Helper()
		var a netip.Addr
		if addr != "" {
			a = netip.MustParseAddr(addr)
		}
		c, ok := inv.Lookup(eni, a)
		got := "unknown"
		if ok {
			got = strings.Join([]string{c.ENI, c.InstanceID, c.Name, c.SubnetID, c.VPCID, c.Role, strings.Join(c.Groups, "+")}, " ")
		}
		if got != want {
			t.Errorf("Lookup(%q, %q) (-got +want)\n- %s\n+ %s", eni, addr, got, want)
		}
	}
	f("eni-web", "", "eni-web i-web web-1 subnet-web vpc-0a1 web sg-web")
	f("", "54.0.0.10", "eni-web i-web web-1 subnet-web vpc-0a1 web sg-web")
	f("", "2600:1f18:100:1::10", "eni-web i-web web-1 subnet-web vpc-0a1 web sg-web")
	f("", "10.0.3.7", "eni-db i-db payments-db subnet-db vpc-0a1 db sg-db")
	f("", "10.0.2.66", "eni-app2 i-app2 app-2 subnet-app vpc-0a1 app sg-app+sg-mon")
	f("", "10.9.9.9", "unknown")
}
