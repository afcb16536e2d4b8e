package detect_test

import (
	"strconv"
	"testing"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/detect/detecttest"
)

func TestVerticalScan(t *testing.T) {
	fs := background()
	// An internal host scans 100 ports of a database in one minute: SYNs,
	// the target answers RSTs from the scanned ports (which must not make
	// the target look like a scanner of the attacker's ephemeral ports).
	for port := 1; port <= 100; port++ {
		t0 := int64(day0 + 30*3600)
		fs = append(fs,
			detecttest.Flow{Src: "10.0.2.99", Dst: "10.0.3.30", SrcPort: 60000, DstPort: port, Start: t0, Flags: 2},
			detecttest.Flow{Src: "10.0.3.30", Dst: "10.0.2.99", SrcPort: port, DstPort: 60000, Start: t0, Flags: 20},
		)
	}
	f := wantOne(t, hunt(t, "port_scan_vertical", fs, detect.Config{}), detect.High, "10.0.2.99")
	if f.Evidence["distinct_ports"] != int64(100) || f.Counterparts[0] != "10.0.3.30" {
		t.Fatalf("evidence: %v %v", f.Evidence, f.Counterparts)
	}
}

func TestVerticalScanSlowAndRecurring(t *testing.T) {
	fs := background()
	// Slow scan: 60 ports over 10 hours, one every 10 minutes, rejected.
	for i := 0; i < 60; i++ {
		fs = append(fs, detecttest.Flow{Src: "203.0.113.66", Dst: "10.0.1.10", SrcPort: 41000 + i, DstPort: 1000 + i, Start: int64(day0 + 10*3600 + i*600), Flags: 2, Action: "REJECT", Dir: "ingress"})
	}
	// A scheduled scanner sweeping 40 ports at 02:00 every day: low.
	for d := 0; d < 2; d++ {
		for i := 0; i < 40; i++ {
			fs = append(fs, detecttest.Flow{Src: "10.0.9.9", Dst: "10.0.2.20", SrcPort: 42000 + i, DstPort: 2000 + i, Start: int64(day0 + d*86400 + 2*3600 + i), Flags: 2, Action: "REJECT"})
		}
	}
	got := hunt(t, "port_scan_vertical", fs, detect.Config{})
	f := wantOne(t, got, detect.Medium, "203.0.113.66")
	if f.Evidence["ports_per_hour"] == nil {
		t.Fatalf("slow scan not marked slow: %v", f.Evidence)
	}
	if len(only(t, got, detect.Info)) != 2 {
		t.Fatalf("scheduled scanner should stay as a low finding:%s", describe(got))
	}
}

func TestHorizontalScan(t *testing.T) {
	fs := background()
	for h := 1; h <= 60; h++ {
		fs = append(fs, detecttest.Flow{Src: "10.0.2.20", Dst: "10.0.4." + itoa(h), SrcPort: 43000 + h, DstPort: 445, Start: int64(day0 + 20*3600 + h), Flags: 2, Action: "REJECT"})
	}
	f := wantOne(t, hunt(t, "port_scan_horizontal", fs, detect.Config{}), detect.High, "10.0.2.20")
	if f.Ports[0] != 445 {
		t.Fatalf("ports %v", f.Ports)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
