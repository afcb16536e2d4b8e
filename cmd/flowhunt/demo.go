package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/simulate"
)

func init() {
	register("demo", "generate labelled traffic, ingest it, hunt, audit, correlate, then serve the console", runDemo)
}

// runDemo is the first thing a new user runs. It chains the real verbs, in
// process, with the arguments a user would type, so the demo shows exactly
// what the product does and nothing the product cannot.
func runDemo(ctx context.Context, args []string) error {
	fs := newFlags("demo", "[--dir DIR] [--days N] [--scale X] [--seed N] [--serve=false] [--addr HOST:PORT]")
	dir := fs.String("dir", "flowhunt-demo", "working directory: generated data in DIR/gen, the store in DIR/data")
	days := fs.Float64("days", 2, "days of simulated traffic")
	scale := fs.Float64("scale", 1, "traffic scale (1 = about 1.5 M records over 2 days)")
	seed := fs.Uint64("seed", 1, "simulation seed")
	serve := fs.Bool("serve", true, "serve the console and API after the hunt (until interrupted)")
	addr := fs.String("addr", "127.0.0.1:8080", "console address when serving")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	gen := filepath.Join(*dir, "gen")
	data := filepath.Join(*dir, "data")
	// A demo run starts from a clean slate, so that it shows what one run does.
	for _, d := range []string{gen, data} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("cannot clear %s: %w", d, err)
		}
	}
	steps := []struct {
		title string
		verb  string
		args  []string
	}{
		{"simulate an AWS account's VPC traffic with labelled attacks", "generate",
			[]string{"--out", gen, "--days", strconv.FormatFloat(*days, 'f', -1, 64),
				"--scale", strconv.FormatFloat(*scale, 'f', -1, 64), "--seed", strconv.FormatUint(*seed, 10)}},
		{"ingest the S3 flow log objects into the embedded store", "ingest",
			[]string{"--data", data, filepath.Join(gen, "s3")}},
		{"run the seed's first query: rejected traffic from 203.*", "query",
			[]string{"--data", data, "--max-rows", "10",
				"SELECT srcAddr, dstAddr, action, bytes, start, end FROM vpc_flow_logs WHERE action = 'REJECT' AND srcAddr LIKE '203.%';"}},
		{"hunt: run every detector", "hunt",
			[]string{"--data", data, "--intel", filepath.Join(gen, "intel", "blocklist.txt")}},
		{"correlate with CloudTrail and GuardDuty", "correlate",
			[]string{"--data", data, "--inventory", filepath.Join(gen, "inventory"),
				"--cloudtrail", filepath.Join(gen, "cloudtrail"), "--guardduty", filepath.Join(gen, "guardduty", "findings.json")}},
		{"audit security groups and NACLs against the traffic", "audit",
			[]string{"--data", data, "--inventory", filepath.Join(gen, "inventory"), "--max", "8"}},
	}
	if *serve {
		steps = append(steps, struct {
			title string
			verb  string
			args  []string
		}{"serve the web console and API (Ctrl-C to stop)", "serve",
			[]string{"--data", data, "--addr", *addr, "--inventory", filepath.Join(gen, "inventory")}})
	}
	for i, st := range steps {
		cmd, ok := commands[st.verb]
		if !ok {
			return fmt.Errorf("BUG: demo step %q needs the %s command", st.title, st.verb)
		}
		if st.verb == "ingest" || st.verb == "hunt" {
			// AWS IPv6 addresses are global: the VPCs' /56 blocks are
			// internal only because the truth file says so.
			tr, err := simulate.LoadTruth(filepath.Join(gen, "truth.json"))
			if err != nil {
				return err
			}
			st.args = append([]string{"--internal", strings.Join(tr.InternalCIDRs, ",")}, st.args...)
		}
		fmt.Printf("\n== %d/%d %s\n$ flowhunt %s %s\n\n", i+1, len(steps), st.title, st.verb, quoteArgs(st.args))
		began := time.Now()
		if err := cmd.run(ctx, st.args); err != nil {
			return fmt.Errorf("demo step %q: %w", st.title, err)
		}
		fmt.Printf("(%s in %s)\n", st.verb, time.Since(began).Round(time.Millisecond))
	}
	if !*serve {
		fmt.Printf("\nDone. Explore with: flowhunt query --data %s \"SELECT …\", flowhunt findings list --data %s, flowhunt serve --data %s\n", data, data, data)
	}
	return nil
}

func quoteArgs(args []string) string {
	out := ""
	for i, a := range args {
		if i > 0 {
			out += " "
		}
		if a == "" || strings.ContainsAny(a, " '\"*;$&|<>()") {
			a = strconv.Quote(a)
		}
		out += a
	}
	return out
}
