package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/audit"
	"github.com/flowhunt/flowhunt/internal/correlate"
	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/simulate"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

// captureStdout runs fn with os.Stdout sent to a file and returns what it wrote.
func captureStdout(t *testing.T, fn func() error) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = f
	err = fn()
	os.Stdout = old
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAuditCorrelateGenerated runs generate -> ingest -> audit -> correlate
// on a small simulation, through the library and through the verbs: the
// deliberately misconfigured group legacy-mysql is named among the open
// rules used from outside, no load balancer traffic is left unexplained,
// and the exposure finding links the CloudTrail event that opened 3306 and
// names the first connection at the time truth.json gives.
func TestAuditCorrelateGenerated(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	gen, data := filepath.Join(dir, "gen"), filepath.Join(dir, "data")
	if _, err := simulate.Generate(ctx, simulate.Config{Seed: 1, Duration: 24 * time.Hour, Scale: 0.2, NoFormats: true}, gen); err != nil {
		t.Fatal(err)
	}
	truth, err := simulate.LoadTruth(filepath.Join(gen, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exposed *simulate.Attack
	for i := range truth.Attacks {
		if truth.Attacks[i].Class == "exposed_port" {
			exposed = &truth.Attacks[i]
		}
	}
	if exposed == nil {
		t.Fatal("the simulation has no exposed_port attack")
	}
	inv, err := enrich.LoadInventoryDir(filepath.Join(gen, "inventory"))
	if err != nil {
		t.Fatal(err)
	}
	var legacy *enrich.SecurityGroup
	for _, g := range inv.SecurityGroups {
		if g.Name == "legacy-mysql" {
			legacy = g
		}
	}
	if legacy == nil {
		t.Fatal("the inventory has no legacy-mysql group")
	}

	// Library: ingest, audit, correlate.
	st, err := duckdb.Open(ctx, duckdb.Config{Dir: data, InternalCIDRs: inv.InternalPrefixes()})
	if err != nil {
		t.Fatal(err)
	}
	src, err := source.Open(ctx, filepath.Join(gen, "s3"), source.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ingest(ctx, []source.Source{src}, duckdb.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	rd, err := st.Reader(ctx, duckdb.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Run(ctx, rd, inv, audit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	named := false
	for _, u := range rep.OpenUsed {
		if u.GroupName == "legacy-mysql" && u.Ports == "tcp/3306" && u.Peer == "0.0.0.0/0" && u.ExternalPeers > 0 {
			named = true
		}
	}
	if !named {
		t.Errorf("legacy-mysql tcp/3306 from 0.0.0.0/0 is not among the open rules used from outside: %+v", rep.OpenUsed)
	}
	for _, u := range rep.Unexplained {
		if strings.HasPrefix(u.Name, "alb") {
			t.Errorf("load balancer traffic left unexplained: %+v", u)
		}
	}

	events, err := correlate.LoadCloudTrailDir(filepath.Join(gen, "cloudtrail"))
	if err != nil {
		t.Fatal(err)
	}
	gds, err := correlate.LoadGuardDutyFile(filepath.Join(gen, "guardduty", "findings.json"))
	if err != nil {
		t.Fatal(err)
	}
	var openID string
	for _, op := range correlate.Openings(events) {
		if op.GroupID == legacy.ID && op.FromPort == 3306 {
			openID = op.Event.EventID
		}
	}
	if openID == "" {
		t.Fatal("CloudTrail holds no AuthorizeSecurityGroupIngress opening 3306 of legacy-mysql")
	}
	res, err := correlate.Run(ctx, rd, correlate.Input{Inventory: inv, Events: events, GuardDuty: gds}, correlate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rd.Close()
	st.Close()
	checkExposure := func(how string, fs []detect.Finding) {
		t.Helper()
		var exp *detect.Finding
		for i := range fs {
			if fs[i].Detector == correlate.DetSGExposure {
				exp = &fs[i]
			}
		}
		if exp == nil {
			t.Fatalf("%s: no %s finding", how, correlate.DetSGExposure)
		}
		if len(exp.Links) == 0 || exp.Links[0] != "cloudtrail:"+openID {
			t.Errorf("%s: links %v, want cloudtrail:%s first", how, exp.Links, openID)
		}
		// The evidence went through JSON when it comes from the store.
		b, _ := json.Marshal(exp.Evidence["first_connection"])
		var fc struct {
			Time, Src, Dst string
		}
		json.Unmarshal(b, &fc)
		if want := exposed.Start.UTC().Format(time.RFC3339); fc.Time != want {
			t.Errorf("%s: first connection at %q, want the truth's start %s (%s)", how, fc.Time, want, b)
		}
		if !contains(exposed.Actors, fc.Src) || !contains(exposed.Targets, fc.Dst) {
			t.Errorf("%s: first connection %s -> %s, want an actor of %v to a target of %v", how, fc.Src, fc.Dst, exposed.Actors, exposed.Targets)
		}
	}
	checkExposure("correlate.Run", res.Findings)

	// Verbs: the audit table names the group, correlate saves its findings.
	out := captureStdout(t, func() error {
		return runAudit(ctx, []string{"--data", data, "--inventory", filepath.Join(gen, "inventory")})
	})
	open, _, _ := strings.Cut(out, "RULE HITS")
	if !strings.Contains(open, "legacy-mysql") || !strings.Contains(open, "tcp/3306") {
		t.Errorf("flowhunt audit does not list legacy-mysql under open rules used from outside:\n%s", open)
	}
	out = captureStdout(t, func() error {
		return runCorrelate(ctx, []string{"--data", data, "--inventory", filepath.Join(gen, "inventory"),
			"--cloudtrail", filepath.Join(gen, "cloudtrail"), "--guardduty", filepath.Join(gen, "guardduty", "findings.json")})
	})
	if !strings.Contains(out, "cloudtrail:"+openID) {
		t.Errorf("flowhunt correlate output lacks the CloudTrail link:\n%s", out)
	}
	stored, err := detect.NewFindingStore(data).Load()
	if err != nil {
		t.Fatal(err)
	}
	checkExposure("findings store", stored)
	var list bytes.Buffer
	for _, f := range stored {
		list.WriteString(f.Detector + " ")
	}
	for _, det := range []string{correlate.DetFlowLogDeleted, correlate.DetGuardDuty} {
		if !strings.Contains(list.String(), det) {
			t.Errorf("findings store lacks a %s finding: %s", det, list.String())
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
