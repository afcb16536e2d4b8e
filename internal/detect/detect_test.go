package detect_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/detect/detecttest"
)

// day0 is the start of the test data: 2026-11-01T00:00:00Z.
const day0 = 1793491200

// hunt loads flows and runs one detector over them.
func hunt(t *testing.T, detector string, flows []detecttest.Flow, cfg detect.Config) []detect.Finding {
	t.Helper()
	ctx := context.Background()
	db, err := detecttest.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Add(ctx, detecttest.Records(flows...)); err != nil {
		t.Fatal(err)
	}
	cfg.Only = []string{detector}
	fs, err := detect.Hunt(ctx, db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// background is ordinary traffic over two days: a web server answering
// internet clients and an app server using its database every 5 minutes,
// so baselines and the learning period have something usual to learn.
func background() []detecttest.Flow {
	var fs []detecttest.Flow
	for i := int64(0); i < 48*12; i++ {
		t := day0 + i*300
		fs = append(fs,
			detecttest.Flow{Src: "198.51.100.7", Dst: "10.0.1.10", SrcPort: 40000 + int(i%20000), DstPort: 443, Start: t, Packets: 10, Bytes: 4000, Flags: 3, Dir: "ingress"},
			detecttest.Flow{Src: "10.0.1.10", Dst: "198.51.100.7", SrcPort: 443, DstPort: 40000 + int(i%20000), Start: t, Packets: 10, Bytes: 40000, Flags: 19, Dir: "egress"},
			detecttest.Flow{Src: "10.0.2.20", Dst: "10.0.3.30", SrcPort: 50000 + int(i%10000), DstPort: 5432, Start: t, Packets: 20, Bytes: 3000, Flags: 3},
			detecttest.Flow{Src: "10.0.5.5", Dst: "10.0.2.20", SrcPort: 51000 + int(i%10000), DstPort: 22, Start: t + 7, Packets: 20, Bytes: 3000, Flags: 3},
		)
	}
	return fs
}

func only(t *testing.T, fs []detect.Finding, minSev detect.Severity) []detect.Finding {
	t.Helper()
	var out []detect.Finding
	for _, f := range fs {
		if f.Severity >= minSev && f.Suppressed == "" {
			out = append(out, f)
		}
	}
	return out
}

func describe(fs []detect.Finding) string {
	s := ""
	for _, f := range fs {
		s += fmt.Sprintf("\n  %s %s %s [%s]", f.Severity, f.Detector, f.Title, f.Entity.Value)
	}
	return s
}

func wantOne(t *testing.T, fs []detect.Finding, minSev detect.Severity, entity string) detect.Finding {
	t.Helper()
	got := only(t, fs, minSev)
	if len(got) != 1 || got[0].Entity.Value != entity {
		t.Fatalf("want one finding >= %s about %s, got %d:%s", minSev, entity, len(got), describe(fs))
	}
	return got[0]
}

func wantNone(t *testing.T, fs []detect.Finding, minSev detect.Severity) {
	t.Helper()
	if got := only(t, fs, minSev); len(got) != 0 {
		t.Fatalf("want no finding >= %s, got %d:%s", minSev, len(got), describe(got))
	}
}
