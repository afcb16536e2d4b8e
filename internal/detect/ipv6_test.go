package detect_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/detect/detecttest"
)

// vpc6 is a VPC's Amazon IPv6 block: global addresses, internal only
// because the configuration says so.
const vpc6 = "2600:1f18:aa00:5c00::/56"

const (
	web6  = "2600:1f18:aa00:5c00:1c2d:3e4f:5a6b:7c8d" // dual-stack web server
	app6  = "2600:1f18:aa00:5c0a:9d8e:7f6a:5b4c:3d2e" // app server behind the egress-only gateway
	db6   = "2600:1f18:aa00:5c14:aaaa:bbbb:cccc:dddd"
	out6  = "2a01:4f8:c2c:1234::2"  // hosting provider
	user6 = "2601:644:8f00:1d0::7a" // residential customer
)

// hunt6 runs one detector with the VPC's /56 internal to both the store's
// direction column and the hunt.
func hunt6(t *testing.T, detector string, flows []detecttest.Flow) []detect.Finding {
	t.Helper()
	ctx := context.Background()
	internal := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix(vpc6)}
	db, err := detecttest.New(internal)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Add(ctx, detecttest.Records(flows...)); err != nil {
		t.Fatal(err)
	}
	fs, err := detect.Hunt(ctx, db, detect.Config{Only: []string{detector}, InternalCIDRs: []string{"10.0.0.0/8", vpc6}})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// background6 is two days of ordinary IPv6 traffic beside the IPv4 one:
// a customer of the web server, the app server's calls to a SaaS API.
func background6() []detecttest.Flow {
	fs := background()
	for i := int64(0); i < 48*12; i++ {
		ts := day0 + i*300
		fs = append(fs,
			detecttest.Flow{Src: user6, Dst: web6, SrcPort: 40000 + int(i), DstPort: 443, Start: ts, Packets: 10, Bytes: 4000, Flags: 3, Dir: "ingress"},
			detecttest.Flow{Src: web6, Dst: user6, SrcPort: 443, DstPort: 40000 + int(i), Start: ts, Packets: 10, Bytes: 40000, Flags: 19, Dir: "egress"},
		)
	}
	return fs
}

func TestIPv6Beacon(t *testing.T) {
	fs := background6()
	// Every 600 s ± 30 s for a day and a half, through the egress-only gateway.
	for i := 0; i < 216; i++ {
		ts := int64(day0 + 12*3600 + i*600 + (i*37)%61 - 30)
		fs = append(fs,
			detecttest.Flow{Src: app6, Dst: out6, SrcPort: 33000 + i, DstPort: 443, Start: ts, Packets: 6, Bytes: 700 + int64(i%5), Flags: 3, Dir: "egress"},
			detecttest.Flow{Src: out6, Dst: app6, SrcPort: 443, DstPort: 33000 + i, Start: ts, Packets: 5, Bytes: 400, Flags: 19, Dir: "ingress"})
	}
	f := wantOne(t, hunt6(t, "beaconing", fs), detect.Medium, app6)
	if len(f.Counterparts) != 1 || f.Counterparts[0] != out6 {
		t.Fatalf("counterparts %v", f.Counterparts)
	}
	if want := "[" + out6 + "]:443"; !strings.Contains(f.Title, want) {
		t.Fatalf("title %q does not name the peer as %s", f.Title, want)
	}
}

func TestIPv6BruteForce(t *testing.T) {
	fs := background6()
	for i := 0; i < 200; i++ {
		fs = append(fs, detecttest.Flow{Src: out6, Dst: web6, SrcPort: 20000 + i, DstPort: 22, Start: int64(day0 + 30*3600 + i*6), Packets: 12, Bytes: 2600, Flags: 3, Dir: "ingress"})
	}
	f := wantOne(t, hunt6(t, "brute_force", fs), detect.Medium, out6)
	if f.Counterparts[0] != web6 || f.Ports[0] != 22 {
		t.Fatalf("counterparts %v ports %v", f.Counterparts, f.Ports)
	}
}

func TestIPv6Exfiltration(t *testing.T) {
	fs := background6()
	fs = append(fs,
		detecttest.Flow{Src: app6, Dst: out6, SrcPort: 46000, DstPort: 443, Start: int64(day0 + 36*3600), Packets: 600000, Bytes: 8e8, Flags: 3, Dir: "egress"},
		detecttest.Flow{Src: out6, Dst: app6, SrcPort: 443, DstPort: 46000, Start: int64(day0 + 36*3600), Packets: 30000, Bytes: 2e6, Flags: 19, Dir: "ingress"})
	f := wantOne(t, hunt6(t, "exfiltration", fs), detect.High, app6)
	if f.Counterparts[0] != out6 {
		t.Fatalf("counterparts %v", f.Counterparts)
	}
}

// TestIPv6InternalScanIsHigh: a sweep between two global addresses of the
// VPC is internal (the configured /56), so high, not the medium of an
// internet scan.
func TestIPv6InternalScanIsHigh(t *testing.T) {
	fs := background6()
	for h := 0; h < 40; h++ {
		dst := fmt.Sprintf("2600:1f18:aa00:5c14::%x", 0x100+h)
		fs = append(fs, detecttest.Flow{Src: app6, Dst: dst, SrcPort: 41000 + h, DstPort: 22, Start: int64(day0 + 40*3600 + h*5), Flags: 2, Dir: "egress"})
	}
	f := wantOne(t, hunt6(t, "port_scan_horizontal", fs), detect.High, app6)
	if f.Evidence["direction"] != "internal" {
		t.Fatalf("direction %v", f.Evidence["direction"])
	}
}

func TestIPv6LateralMovement(t *testing.T) {
	fs := background6()
	fs = append(fs,
		detecttest.Flow{Src: web6, Dst: app6, SrcPort: 50100, DstPort: 22, Start: int64(day0 + 40*3600), Packets: 40, Bytes: 9000, Flags: 3},
		detecttest.Flow{Src: web6, Dst: db6, SrcPort: 50101, DstPort: 3389, Start: int64(day0 + 40*3600 + 60), Packets: 40, Bytes: 9000, Flags: 3})
	f := wantOne(t, hunt6(t, "lateral_movement", fs), detect.High, web6)
	if len(f.Counterparts) != 2 {
		t.Fatalf("counterparts %v", f.Counterparts)
	}
}

// TestIPv6Intel: a listed IPv6 /48 matches the peer inside it.
func TestIPv6Intel(t *testing.T) {
	fs := background6()
	fs = append(fs, detecttest.Flow{Src: app6, Dst: out6, SrcPort: 47000, DstPort: 8443, Start: int64(day0 + 30*3600), Packets: 8, Bytes: 900, Flags: 3, Dir: "egress"})
	intel := &detect.IntelSet{}
	if err := intel.ReadIntel(strings.NewReader("2a01:4f8:c2c::/48 # bad hoster\n"), "v6.txt"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := detecttest.New([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix(vpc6)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Add(ctx, detecttest.Records(fs...)); err != nil {
		t.Fatal(err)
	}
	got, err := detect.Hunt(ctx, db, detect.Config{Only: []string{"threat_intel"}, InternalCIDRs: []string{"10.0.0.0/8", vpc6}, Intel: intel})
	if err != nil {
		t.Fatal(err)
	}
	f := wantOne(t, got, detect.High, out6)
	if f.Counterparts[0] != app6 {
		t.Fatalf("counterparts %v", f.Counterparts)
	}
}
