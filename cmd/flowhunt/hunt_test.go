package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/simulate"
)

// verbOut runs one verb through its run function with stdout captured.
func verbOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd, ok := commands[args[0]]
	if !ok {
		t.Fatalf("no verb %q", args[0])
	}
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdout
	os.Stdout = f
	err = cmd.run(context.Background(), args[1:])
	os.Stdout = old
	out, _ := os.ReadFile(f.Name())
	return string(out), err
}

func mustVerb(t *testing.T, args ...string) string {
	t.Helper()
	out, err := verbOut(t, args...)
	if err != nil {
		t.Fatalf("flowhunt %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func parseJSONL(t *testing.T, s string) []detect.Finding {
	t.Helper()
	var out []detect.Finding
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var f detect.Finding
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("bad JSONL line %q: %v", l, err)
		}
		out = append(out, f)
	}
	return out
}

// TestHuntFindingsRulesVerbs drives hunt, findings and rules as a user
// would, on a six-hour simulation: the IPv6 brute force is found once the
// VPC /56 blocks are passed with --internal, a status set by hand survives
// a second hunt, and the example rule validates and passes its test.
func TestHuntFindingsRulesVerbs(t *testing.T) {
	dir := t.TempDir()
	gen, data := filepath.Join(dir, "gen"), filepath.Join(dir, "data")
	mustVerb(t, "generate", "--out", gen, "--days", "0.25", "--scale", "0.1", "--seed", "3", "--no-formats")
	tr, err := simulate.LoadTruth(filepath.Join(gen, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	cidrs := strings.Join(tr.InternalCIDRs, ",")
	mustVerb(t, "ingest", "--internal", cidrs, "--data", data, filepath.Join(gen, "s3"))
	hunt := []string{"hunt", "--internal", cidrs, "--data", data, "--intel", filepath.Join(gen, "intel", "blocklist.txt"), "--output", "jsonl", "--min-severity", "medium"}
	found := parseJSONL(t, mustVerb(t, hunt...))
	if len(found) == 0 {
		t.Fatal("hunt reported no finding at medium or above")
	}
	// A tight budget gives the same findings, and the spill directory goes.
	tight := parseJSONL(t, mustVerb(t, append(hunt, "--memory-limit", "48MiB", "--parallel", "1", "--no-save")...))
	if len(tight) != len(found) {
		t.Fatalf("hunt --memory-limit 48MiB: %d findings, %d without", len(tight), len(found))
	}
	for i := range tight {
		if tight[i].ID != found[i].ID || tight[i].Score != found[i].Score {
			t.Fatalf("hunt --memory-limit 48MiB: finding %d is %s (score %g), %s (score %g) without", i, tight[i].ID, tight[i].Score, found[i].ID, found[i].Score)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(data, ".hunt-spill-*")); len(left) > 0 {
		t.Fatalf("hunt left its spill directory behind: %v", left)
	}
	var v6 *detect.Finding
	for _, a := range tr.ByClass(simulate.ClassBruteForce) {
		for i := range found {
			if found[i].Detector == "brute_force" && found[i].Entity.Value == a.Actors[0] && strings.Contains(a.Actors[0], ":") {
				v6 = &found[i]
			}
		}
	}
	if v6 == nil {
		t.Fatalf("no brute_force finding about the IPv6 attacker among %d findings", len(found))
	}

	// findings list holds what hunt saved; show returns one; set-status sticks.
	listed := parseJSONL(t, mustVerb(t, "findings", "list", "--data", data, "--output", "jsonl", "--min-severity", "medium"))
	if len(listed) < len(found) {
		t.Fatalf("findings list: %d findings, hunt reported %d", len(listed), len(found))
	}
	var shown detect.Finding
	if err := json.Unmarshal([]byte(mustVerb(t, "findings", "show", v6.ID, "--data", data)), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.ID != v6.ID || shown.Status != detect.StatusOpen || shown.Title != v6.Title {
		t.Fatalf("findings show %s: got id %s status %s title %q", v6.ID, shown.ID, shown.Status, shown.Title)
	}
	if out := mustVerb(t, "findings", "set-status", v6.ID, "false-positive", "--data", data); !strings.HasPrefix(out, v6.ID+" false_positive") {
		t.Fatalf("set-status printed %q", out)
	}
	if _, err := verbOut(t, "findings", "set-status", v6.ID, "maybe", "--data", data); !errors.Is(err, errUsage) {
		t.Fatalf("set-status with a bad status: err %v, want a usage error", err)
	}
	again := parseJSONL(t, mustVerb(t, hunt...))
	for _, f := range again {
		if f.ID == v6.ID && f.Status != detect.StatusFalsePositive {
			t.Fatalf("status after a second hunt: %s, want false_positive", f.Status)
		}
	}
	fp := parseJSONL(t, mustVerb(t, "findings", "list", "--data", data, "--output", "jsonl", "--status", "false_positive"))
	if len(fp) != 1 || fp[0].ID != v6.ID {
		t.Fatalf("findings list --status false_positive: %d findings", len(fp))
	}

	// rules: the catalogue, and the example rule beside the detect tests.
	list := mustVerb(t, "rules", "list")
	for _, name := range []string{"beaconing", "brute_force", "exfiltration", "logging_gap"} {
		if !strings.Contains(list, name) {
			t.Errorf("rules list does not name %s", name)
		}
	}
	rules := filepath.Join("..", "..", "internal", "detect", "testdata", "rules")
	if out := mustVerb(t, "rules", "validate", rules); !strings.Contains(out, "ok   smb_to_internet") {
		t.Errorf("rules validate printed %q", out)
	}
	if out := mustVerb(t, "rules", "test", rules); !strings.Contains(out, "1 finding as expected") {
		t.Errorf("rules test printed %q", out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: no_condition\nsql: SELECT 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := verbOut(t, "rules", "validate", bad); err == nil {
		t.Error("rules validate accepted a rule without severity, condition or entity column")
	}
}

func TestParseBytes(t *testing.T) {
	f := func(in string, want int64) {
		t.Helper()
		got, err := parseBytes(in)
		if want < 0 {
			if err == nil {
				t.Errorf("parseBytes(%q) = %d, want an error", in, got)
			}
			return
		}
		if err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	f("1GiB", 1<<30)
	f("512MiB", 512<<20)
	f("1.5GB", 1500000000)
	f("2gib", 2<<30)
	f("1048576", 1<<20)
	f("64KiB", 64<<10)
	f("", -1)
	f("GiB", -1)
	f("-1GiB", -1)
	f("1XB", -1)
	f("0", -1)
}
