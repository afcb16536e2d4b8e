package detect_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/detect/detecttest"
)

func TestBruteForce(t *testing.T) {
	fs := background()
	// 200 short SSH sessions in 20 minutes from one internet source to a
	// reachable host: guessing. The admin host's usual SSH (in background)
	// and a load balancer's health checks on 8080 are not.
	for i := 0; i < 200; i++ {
		fs = append(fs, detecttest.Flow{Src: "198.51.100.66", Dst: "10.0.2.20", SrcPort: 20000 + i, DstPort: 22, Start: int64(day0 + 30*3600 + i*6), Packets: 12, Bytes: 2600, Flags: 3, Dir: "ingress"})
	}
	for i := 0; i < 48*60; i++ {
		fs = append(fs, detecttest.Flow{Src: "10.0.0.5", Dst: "10.0.2.20", SrcPort: 10000 + i%50000, DstPort: 8080, Start: int64(day0 + i*60), Packets: 6, Bytes: 500, Flags: 3})
	}
	f := wantOne(t, hunt(t, "brute_force", fs, detect.Config{}), detect.Medium, "198.51.100.66")
	if f.Ports[0] != 22 {
		t.Fatalf("ports %v", f.Ports)
	}
}

func TestBruteForceAgainstClosedPortIsAProbe(t *testing.T) {
	// Known edge: counting SYNs alone makes every internet scanner hitting
	// a closed SSH port a "brute force". Refused attempts cannot guess.
	fs := background()
	for i := 0; i < 200; i++ {
		fs = append(fs, detecttest.Flow{Src: "198.51.100.66", Dst: "10.0.2.20", SrcPort: 20000 + i, DstPort: 22, Start: int64(day0 + 30*3600 + i*6), Flags: 2, Action: "REJECT", Dir: "ingress"})
	}
	wantNone(t, hunt(t, "brute_force", fs, detect.Config{}), detect.Info)
}

func TestLateralMovement(t *testing.T) {
	fs := background() // includes 10.0.5.5 (admin host) -> 10.0.2.20:22 all along
	for i, dst := range []string{"10.0.3.30", "10.0.3.31", "10.0.3.32"} {
		fs = append(fs, detecttest.Flow{Src: "10.0.2.20", Dst: dst, SrcPort: 33000 + i, DstPort: 445, Start: int64(day0 + 40*3600 + i*30), Packets: 30, Bytes: 9000, Flags: 3})
	}
	f := wantOne(t, hunt(t, "lateral_movement", fs, detect.Config{}), detect.High, "10.0.2.20")
	if len(f.Counterparts) != 3 {
		t.Fatalf("counterparts %v", f.Counterparts)
	}
}

func TestExposedPort(t *testing.T) {
	fs := background()
	// Port 5432 refused from the internet on day one, ACCEPTed on day two
	// after a security group change.
	for i := 0; i < 10; i++ {
		fs = append(fs, detecttest.Flow{Src: fmt.Sprintf("203.0.113.%d", i+1), Dst: "10.0.3.30", SrcPort: 50000 + i, DstPort: 5432, Start: int64(day0 + 10*3600 + i*60), Flags: 2, Action: "REJECT", Dir: "ingress"})
		fs = append(fs, detecttest.Flow{Src: fmt.Sprintf("203.0.113.%d", i+100), Dst: "10.0.3.30", SrcPort: 50000 + i, DstPort: 5432, Start: int64(day0 + 30*3600 + i*60), Packets: 5, Flags: 3, Dir: "ingress"})
	}
	f := wantOne(t, hunt(t, "exposed_port", fs, detect.Config{}), detect.High, "10.0.3.30")
	if f.Evidence["newly_opened"] != true || len(f.Counterparts) != 10 {
		t.Fatalf("evidence %v counterparts %v", f.Evidence, f.Counterparts)
	}
}

func TestExfiltrationNeedsNoveltyNotJustVolume(t *testing.T) {
	fs := background()
	// Nightly backup: 2 GB to the same host at 01:00 both days (usual).
	for d := 0; d < 2; d++ {
		fs = append(fs, detecttest.Flow{Src: "10.0.2.20", Dst: "198.51.100.200", SrcPort: 45000 + d, DstPort: 443, Start: int64(day0 + d*86400 + 3600), Packets: 1500000, Bytes: 2e9, Flags: 3, Dir: "egress"})
	}
	// Bulk: 800 MB to a destination never seen before, on day two.
	fs = append(fs, detecttest.Flow{Src: "10.0.3.30", Dst: "192.0.2.99", SrcPort: 46000, DstPort: 443, Start: int64(day0 + 36*3600), Packets: 600000, Bytes: 8e8, Flags: 3, Dir: "egress"})
	got := hunt(t, "exfiltration", fs, detect.Config{})
	f := wantOne(t, got, detect.High, "10.0.3.30")
	if f.Counterparts[0] != "192.0.2.99" {
		t.Fatalf("counterparts %v", f.Counterparts)
	}
}

func TestDoS(t *testing.T) {
	fs := background()
	for i := 0; i < 400; i++ { // SYN flood: 400 sources in one minute
		fs = append(fs, detecttest.Flow{Src: fmt.Sprintf("198.18.%d.%d", i/250, i%250+1), Dst: "10.0.1.10", SrcPort: 1024 + i, DstPort: 443, Start: int64(day0 + 20*3600 + i%60), Packets: 200, Bytes: 8000, Flags: 2, Dir: "ingress"})
	}
	wantOne(t, hunt(t, "dos_inbound", fs, detect.Config{}), detect.High, "10.0.1.10")
	for i := 0; i < 60; i++ { // UDP at a TCP port, 6 flows a minute for 10 minutes
		fs = append(fs, detecttest.Flow{Src: "10.0.2.20", Dst: "192.0.2.50", SrcPort: 2000 + i, DstPort: 80, Proto: 17, Start: int64(day0 + 25*3600 + i*10), Packets: 2, Bytes: 88, Flags: -1, Dir: "egress"})
	}
	wantOne(t, hunt(t, "dos_outbound", fs, detect.Config{}), detect.High, "10.0.2.20")
}

func TestCryptoDNSIntel(t *testing.T) {
	fs := background()
	for i := int64(0); i < 120; i++ { // a stratum session for two hours
		fs = append(fs, detecttest.Flow{Src: "10.0.2.20", Dst: "192.0.2.77", SrcPort: 51515, DstPort: 3333, Start: day0 + 20*3600 + i*60, End: day0 + 20*3600 + i*60 + 59, Packets: 4, Bytes: 400, Flags: 0, Dir: "egress"})
	}
	for i := 0; i < 5; i++ {
		fs = append(fs, detecttest.Flow{Src: "10.0.3.30", Dst: "1.1.1.1", SrcPort: 40000 + i, DstPort: 853, Start: int64(day0 + 22*3600 + i*60), Packets: 10, Bytes: 1500, Flags: 3, Dir: "egress"})
	}
	wantOne(t, hunt(t, "cryptomining", fs, detect.Config{}), detect.High, "10.0.2.20")
	wantOne(t, hunt(t, "dns_external_resolver", fs, detect.Config{}), detect.Medium, "10.0.3.30")
	intel := &detect.IntelSet{}
	if err := intel.ReadIntel(strings.NewReader("# feed\n192.0.2.0/24 ; pool\n"), "test-feed"); err != nil {
		t.Fatal(err)
	}
	f := wantOne(t, hunt(t, "threat_intel", fs, detect.Config{Intel: intel}), detect.High, "192.0.2.77")
	if f.Counterparts[0] != "10.0.2.20" || f.Evidence["list"] != "test-feed" {
		t.Fatalf("%v %v", f.Counterparts, f.Evidence)
	}
}

func TestLoggingGap(t *testing.T) {
	var fs []detecttest.Flow
	// Three ENIs log every 5 minutes for a day, except 40 minutes at noon.
	for _, eni := range []string{"eni-a", "eni-b", "eni-c"} {
		for i := int64(0); i < 288; i++ {
			t0 := day0 + i*300
			if t0 >= day0+12*3600 && t0 < day0+12*3600+2400 {
				continue
			}
			fs = append(fs, detecttest.Flow{ENI: eni, Src: "10.0.2.20", Dst: "10.0.3.30", SrcPort: 1000 + int(i), DstPort: 5432, Start: t0, Flags: 3})
		}
	}
	fs = append(fs, detecttest.Flow{ENI: "eni-d", Start: day0 + 600, Status: "SKIPDATA"})
	got := hunt(t, "logging_gap", fs, detect.Config{})
	f := wantOne(t, got, detect.High, "all-enis")
	if f.Evidence["minutes"] != int64(40) {
		t.Fatalf("evidence %v", f.Evidence)
	}
	if len(got) != 2 {
		t.Fatalf("want the shared gap and a low SKIPDATA finding:%s", describe(got))
	}
}

func TestAllowlistSuppressesWithReason(t *testing.T) {
	fs := background()
	for i := 0; i < 5; i++ {
		fs = append(fs, detecttest.Flow{Src: "10.0.3.30", Dst: "8.8.8.8", SrcPort: 40000 + i, DstPort: 53, Proto: 17, Start: int64(day0 + 22*3600 + i*60), Flags: -1, Dir: "egress"})
	}
	cfg, err := detect.ParseConfig([]byte("allowlist:\n  - cidrs: [8.8.8.8/32]\n    detectors: [dns_external_resolver]\n    reason: approved resolver for the build farm\n"), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := hunt(t, "dns_external_resolver", fs, *cfg)
	if len(got) != 1 || got[0].Suppressed != "approved resolver for the build farm" {
		t.Fatalf("want one suppressed finding with the reason:%s", describe(got))
	}
}
