package detect_test

import (
	"context"
	"testing"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/detect/detecttest"
)

// TestIntelFromColumn: without lists in the hunt, the intel_list column an
// enriching ingest filled still yields the threat_intel finding.
func TestIntelFromColumn(t *testing.T) {
	ctx := context.Background()
	fs := background()
	for i := int64(0); i < 10; i++ {
		fs = append(fs, detecttest.Flow{Src: "10.0.2.20", Dst: "192.0.2.77", SrcPort: 51515, DstPort: 443, Start: day0 + 20*3600 + i*60, Packets: 4, Bytes: 400, Flags: 3, Dir: "egress"})
	}
	db, err := detecttest.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Add(ctx, detecttest.Records(fs...)); err != nil {
		t.Fatal(err)
	}
	run := func() []detect.Finding {
		got, err := detect.Hunt(ctx, db, detect.Config{Only: []string{"threat_intel"}})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	wantNone(t, run(), detect.Info)
	if err := db.Exec(ctx, "UPDATE vpc_flow_logs SET intel_list = 'stored-feed' WHERE dstaddr = '192.0.2.77'"); err != nil {
		t.Fatal(err)
	}
	f := wantOne(t, run(), detect.High, "192.0.2.77")
	if f.Counterparts[0] != "10.0.2.20" || f.Evidence["list"] != "stored-feed" {
		t.Fatalf("%v %v", f.Counterparts, f.Evidence)
	}
}
