package detect_test

import (
	"os"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/detect/detecttest"
)

const smbRule = `name: smb_to_internet
description: SMB leaving the VPC
severity: high
mitre: [T1048]
sql: |
  SELECT srcaddr AS entity, dstaddr AS counterpart, dstport AS port, count(*) AS flows,
         min(start) AS first_seen, max("end") AS last_seen
  FROM vpc_flow_logs WHERE $window AND dstport = 445 AND direction = 'outbound'
  GROUP BY srcaddr, dstaddr, dstport
condition: flows >= 3
`

func TestRuleRuns(t *testing.T) {
	r, err := detect.ParseRule([]byte(smbRule), "smb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fs := background()
	for i := 0; i < 3; i++ {
		fs = append(fs, detecttest.Flow{Src: "10.0.2.20", Dst: "192.0.2.1", SrcPort: 50000 + i, DstPort: 445, Start: int64(day0 + 3600 + i), Flags: 3})
	}
	fs = append(fs, detecttest.Flow{Src: "10.0.3.30", Dst: "192.0.2.1", SrcPort: 50000, DstPort: 445, Start: day0 + 3600, Flags: 3})
	got := hunt(t, "smb_to_internet", fs, detect.Config{Rules: []*detect.Rule{r}})
	f := wantOne(t, got, detect.High, "10.0.2.20")
	if f.Counterparts[0] != "192.0.2.1" || f.Ports[0] != 445 || f.Evidence["flows"] == nil || f.FirstSeen.Unix() != day0+3600 {
		t.Fatalf("finding %+v", f)
	}
}

func TestRuleValidate(t *testing.T) {
	f := func(edit, wantErr string) {
		t.Helper()
		_, err := detect.ParseRule([]byte(edit), "r.yaml")
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("want error containing %q, got %v", wantErr, err)
		}
	}
	f(strings.Replace(smbRule, "severity: high", "severity: urgent", 1), "cannot parse severity")
	f(strings.Replace(smbRule, "[T1048]", "[X1]", 1), "mitre id")
	f(strings.Replace(smbRule, "$window AND ", "", 1), "$window")
	f(strings.Replace(smbRule, "SELECT srcaddr", "DELETE FROM vpc_flow_logs; SELECT srcaddr", 1), "SELECT")
	f(strings.Replace(smbRule, "flows >= 3", "flows >= 3; DROP TABLE x", 1), "read-only")
	f(strings.Replace(smbRule, "smb_to_internet", "beaconing", 1), "built-in")
	f(smbRule+"unknown_key: 1\n", "unknown")
}

func TestConfigValidate(t *testing.T) {
	f := func(yaml, wantErr string) {
		t.Helper()
		_, err := detect.ParseConfig([]byte(yaml), "c.yaml")
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: want error containing %q, got %v", yaml, wantErr, err)
		}
	}
	f("detectors:\n  nosuch: {enabled: false}\n", "no such detector")
	f("detectors:\n  beaconing: {params: {min_scor: 1}}\n", "unknown parameter")
	f("detectors:\n  beaconing: {severity: loud}\n", "cannot parse severity")
	f("allowlist:\n  - cidrs: [10.0.0.0/8]\n", "reason is required")
	f("allowlist:\n  - reason: everything\n", "matches everything")
	f("internal_cidrs: [10.0.0/8]\n", "cannot parse CIDR")
	c, err := detect.ParseConfig([]byte("internal_cidrs: [10.0.0.0/16]\ndetectors:\n  beaconing: {params: {min_score: 0.8}}\n"), "c.yaml")
	if err != nil || c.BaselineDays != 7 || len(c.Internal()) != 1 {
		t.Fatalf("valid config: %v %+v", err, c)
	}
}

func TestExampleRuleFileIsValid(t *testing.T) {
	b, err := os.ReadFile("testdata/rules/smb_to_internet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := detect.ParseRule(b, "testdata/rules/smb_to_internet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r.Test.Records != "smb_to_internet.log" || r.Test.Expect != 1 {
		t.Fatalf("test section: %+v", r.Test)
	}
	c, err := os.ReadFile("testdata/hunt.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := detect.ParseConfig(c, "testdata/hunt.yaml"); err != nil {
		t.Fatal(err)
	}
}
