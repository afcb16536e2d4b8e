package audit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/audit"
	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

// ingestDir loads the flow-log objects under dir into a fresh embedded store
// and returns a reader over it.
func ingestDir(t *testing.T, dir string, inv *enrich.Inventory) *duckdb.Reader {
	t.Helper()
	ctx := context.Background()
	st, err := duckdb.Open(ctx, duckdb.Config{Dir: t.TempDir(), InternalCIDRs: inv.InternalPrefixes()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	src, err := source.Open(ctx, dir, source.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ingest(ctx, []source.Source{src}, duckdb.IngestOptions{Workers: 1}); err != nil {
		t.Fatal(err)
	}
	rd, err := st.Reader(ctx, duckdb.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd
}

// TestALBTargetFlowsWithLowEphemeralPort reproduces the generated data's
// load balancer -> target (tcp/8080) flows that landed in "accepted but not
// explained": the ALB picks source ports from 1024-65535, so "the lower port
// is the service" read 6745 -> 8080 as the target opening a connection to
// the ALB's port 6745, which neither group allows (the target's group has no
// egress rule at all). TCP flags (SYN vs SYN-ACK) and the listening ports
// they reveal must decide instead; the last case has both ports
// ephemeral-looking, the opener's the lower one.
func TestALBTargetFlowsWithLowEphemeralPort(t *testing.T) {
	inv, err := enrich.LoadInventoryDir("testdata/alb-low-ephemeral")
	if err != nil {
		t.Fatal(err)
	}
	rd := ingestDir(t, "testdata/alb-low-ephemeral/flows", inv)
	rep, err := audit.Run(context.Background(), rd, inv, audit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var unex []string
	for _, u := range rep.Unexplained {
		unex = append(unex, fmt.Sprintf("%s %s %s %s: %s", u.Name, u.Direction, u.Remote, u.Ports, u.Reason))
	}
	if len(unex) > 0 {
		t.Errorf("accepted but not explained, want none:\n%s", strings.Join(unex, "\n"))
	}
	hits := map[string]int64{}
	for _, r := range rep.Rules {
		hits[r.RuleID] = r.Records
	}
	f := func(rule string, want int64) {
		t.Helper()
		if hits[rule] != want {
			t.Errorf("%s hits = %d, want %d (all hits: %v)", rule, hits[rule], want, hits)
		}
	}
	f("sg-web:in:0", 2) // tcp/8080 from the ALB group: the SYN window and the flagless window
	f("sg-web:in:1", 2) // tcp/30000 from the ALB group, opened from port 20000
	f("sg-alb:out:0", 1)
	f("sg-alb:in:0", 0)
	if rep.RejectsTotal != 0 || rep.Records != 10 {
		t.Errorf("records %d, reject groups %d; want 10 and 0", rep.Records, rep.RejectsTotal)
	}
}
