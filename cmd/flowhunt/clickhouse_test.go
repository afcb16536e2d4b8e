package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/server"
	"github.com/flowhunt/flowhunt/internal/server/local"
	"github.com/flowhunt/flowhunt/internal/simulate"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
	"github.com/flowhunt/flowhunt/internal/store/storetest"
)

// clickhouseStore returns a store URL with a database of its own on a
// two-shard cluster: FLOWHUNT_CLICKHOUSE's, else one started here with
// scripts/clickhouse.sh (installing clickhouse-server when missing). It
// skips without a server, and fails under CI=true.
func clickhouseStore(t *testing.T) string {
	t.Helper()
	base := os.Getenv("FLOWHUNT_CLICKHOUSE")
	if base == "" {
		dir := t.TempDir()
		script, _ := filepath.Abs("../../scripts/clickhouse.sh")
		cmd := exec.Command(script, "start", dir)
		// Ports apart from internal/store/clickhouse's test clusters
		// (18200–18999), which may run at the same time.
		cmd.Env = append(os.Environ(), fmt.Sprintf("FLOWHUNT_CH_PORT=%d", 19400+(os.Getpid()%200)*2))
		out, err := cmd.Output()
		if err != nil {
			msg := ""
			if ee, ok := err.(*exec.ExitError); ok {
				msg = string(ee.Stderr)
			}
			if os.Getenv("CI") == "true" {
				t.Fatalf("clickhouse is required under CI=true: cannot start it: %v: %s", err, msg)
			}
			t.Skipf("no clickhouse: %v: %s", err, msg)
		}
		t.Cleanup(func() { exec.Command(script, "stop", dir).Run() })
		base = strings.TrimSpace(string(out))
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	db := fmt.Sprintf("fh_cli_%d", os.Getpid())
	u.Path = "/" + db
	t.Cleanup(func() {
		for _, h := range strings.Split(u.Host, ",") {
			resp, err := http.Post("http://"+h+"/", "text/plain", strings.NewReader("DROP DATABASE IF EXISTS "+db))
			if err == nil {
				resp.Body.Close()
			}
		}
	})
	return u.String()
}

// runVerb runs one flowhunt verb as main does and returns what it wrote
// on stdout.
func runVerb(t *testing.T, args ...string) string {
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
	if err != nil {
		t.Fatalf("flowhunt %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func sortedLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	sort.Strings(out)
	return out
}

// TestVerbsOnClickHouse runs the verbs a user runs (ingest, query with the
// seed's queries, hunt, findings) with --store on a two-shard cluster and
// without it on the embedded store, over the same generated data, and
// compares what they print.
func TestVerbsOnClickHouse(t *testing.T) {
	u := clickhouseStore(t)
	d := storetest.Generate(t)
	chData, embData := t.TempDir(), t.TempDir()

	out := runVerb(t, "ingest", "--store", u, "--data", chData, d.S3)
	if !strings.Contains(out, fmt.Sprintf(", %d records,", d.Records)) {
		t.Fatalf("ingest on clickhouse printed %q, want %d records", out, d.Records)
	}
	if out := runVerb(t, "ingest", "--store", u, "--data", chData, d.S3); !strings.HasPrefix(out, "ingested 0 objects") {
		t.Errorf("second ingest on clickhouse printed %q, want nothing stored", out)
	}
	runVerb(t, "ingest", "--data", embData, d.S3)

	for i, q := range storetest.Seed {
		got := sortedLines(runVerb(t, "query", "--store", u, "--data", chData, "--output", "csv", "--max-rows", "-1", q))
		want := sortedLines(runVerb(t, "query", "--data", embData, "--output", "csv", "--max-rows", "-1", q))
		if len(want) < 2 {
			t.Errorf("seed q%d: no rows on the embedded store: the comparison proves nothing", i+1)
		}
		if diff := lineDiff(got, want); diff != "" {
			t.Errorf("seed q%d, clickhouse (-) vs embedded (+):\n%s", i+1, diff)
		}
	}
	// No limit: rows tied at a cut may differ between engines.
	for _, q := range []string{
		`filter action = "REJECT" | stats count(*) as rejects by dstPort | sort rejects desc`,
		`filter action = "REJECT" | stats count(*) as rejected by bin(1h) as t | sort t`,
		`fields srcAddr, dstAddr, bytes | filter bytes > 1000000 | sort bytes desc`,
	} {
		got := sortedLines(runVerb(t, "query", "--store", u, "--data", chData, "--insights", "--output", "csv", q))
		want := sortedLines(runVerb(t, "query", "--data", embData, "--insights", "--output", "csv", q))
		if len(want) < 2 {
			t.Errorf("insights %q: no rows on the embedded store: the comparison proves nothing", q)
		}
		if diff := lineDiff(got, want); diff != "" {
			t.Errorf("insights %q, clickhouse (-) vs embedded (+):\n%s", q, diff)
		}
	}
	// --sql shows what the cluster runs.
	if x := runVerb(t, "query", "--store", u, "--sql", "SELECT count(*) FROM vpc_flow_logs"); !strings.Contains(x, "count()") || !strings.Contains(x, "`vpc_flow_logs`") {
		t.Errorf("query --store --sql printed %q, want ClickHouse SQL", x)
	}
	// The console's samples (seed, AWS's Athena and Insights samples) run
	// on the cluster; those whose rows do not depend on where a LIMIT cuts
	// return the same rows as on the embedded store.
	for _, sm := range server.Samples {
		args := []string{"query", "--output", "csv", "--max-rows", "-1"}
		if sm.Mode == "insights" {
			args = append(args, "--insights")
		}
		got := sortedLines(runVerb(t, append(append(args, "--store", u, "--data", chData), sm.Query)...))
		if strings.Contains(strings.ToLower(sm.Query), "limit") {
			continue
		}
		want := sortedLines(runVerb(t, append(append(args, "--data", embData), sm.Query)...))
		if diff := lineDiff(got, want); diff != "" {
			t.Errorf("sample %q, clickhouse (-) vs embedded (+):\n%s", sm.Title, diff)
		}
	}
	// FLOWHUNT_STORE selects the store as --store does.
	t.Setenv("FLOWHUNT_STORE", u)
	n := runVerb(t, "query", "--data", chData, "--output", "csv", "SELECT count(*) AS n FROM vpc_flow_logs")
	if want := fmt.Sprintf("n\n%d\n", d.Records); n != want {
		t.Errorf("count through FLOWHUNT_STORE = %q, want %q", n, want)
	}
	t.Setenv("FLOWHUNT_STORE", "")

	ch := runVerb(t, "hunt", "--store", u, "--data", chData, "--output", "jsonl", "--min-severity", "info", "--show-suppressed")
	emb := runVerb(t, "hunt", "--data", embData, "--output", "jsonl", "--min-severity", "info", "--show-suppressed")
	got, want := findingLines(t, ch), findingLines(t, emb)
	if len(want) == 0 {
		t.Fatal("no findings on the embedded store: the comparison proves nothing")
	}
	if diff := lineDiff(got, want); diff != "" {
		t.Errorf("hunt, clickhouse (-) vs embedded (+):\n%s", diff)
	}
	// --since counts back from the newest record, read from the cluster.
	if l := findingLines(t, runVerb(t, "hunt", "--store", u, "--data", chData, "--since", "6h", "--no-save", "--output", "jsonl")); len(l) == 0 {
		t.Error("hunt --store --since 6h found nothing")
	}
	// Findings are kept in the data directory (status) and in the store.
	listed := runVerb(t, "findings", "list", "--data", chData, "--output", "jsonl")
	if l := findingLines(t, listed); len(l) != len(got) {
		t.Errorf("findings list after a clickhouse hunt: %d findings, want %d", len(l), len(got))
	}
	side := runVerb(t, "query", "--store", u, "--data", chData, "--output", "csv", "SELECT count(*) AS n FROM findings")
	if want := fmt.Sprintf("n\n%d\n", len(got)); side != want {
		t.Errorf("findings side table on clickhouse: %q, want %q", side, want)
	}

	// audit reads the flows through one query (subqueries in FROM, nested
	// LEFT JOIN … USING) that runs on 18.16 and on the embedded store; the
	// inventory is the generator's for storetest's configuration.
	invGen := t.TempDir()
	if _, err := simulate.Generate(context.Background(), simulate.Config{Seed: 7, Duration: 6 * time.Hour, Scale: 0.1, NoFormats: true}, invGen); err != nil {
		t.Fatal(err)
	}
	invDir := filepath.Join(invGen, "inventory")
	chAudit := runVerb(t, "audit", "--store", u, "--data", chData, "--inventory", invDir, "--output", "json")
	embAudit := runVerb(t, "audit", "--data", embData, "--inventory", invDir, "--output", "json")
	var rep struct {
		Records           int64             `json:"records"`
		UnknownENIRecords int64             `json:"unknown_eni_records"`
		Rules             []json.RawMessage `json:"rules"`
	}
	if err := json.Unmarshal([]byte(embAudit), &rep); err != nil {
		t.Fatalf("audit json: %v", err)
	}
	// NODATA/SKIPDATA records carry no addresses and are not audited.
	if rep.Records < d.Records*9/10 || rep.UnknownENIRecords > rep.Records/10 || len(rep.Rules) == 0 {
		t.Errorf("audit on the embedded store: %d records (%d on unknown interfaces), %d rules; want most of %d records judged against the inventory: the comparison proves little",
			rep.Records, rep.UnknownENIRecords, len(rep.Rules), d.Records)
	}
	if diff := lineDiff(sortedLines(chAudit), sortedLines(embAudit)); diff != "" {
		t.Errorf("audit, clickhouse (-) vs embedded (+):\n%s", diff)
	}

	// flowhunt serve --store: the server's backend over the cluster takes
	// Firehose objects exactly once and reads them back.
	ctx := context.Background()
	be, err := openStore(ctx, u, chData, nil)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := local.Open(ctx, local.Config{Store: duckdb.Config{Dir: chData}, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	body := []byte("2 123456789012 eni-0f1 10.0.1.5 198.51.100.7 44321 443 6 12 3400 1793577600 1793577660 ACCEPT OK\n" +
		"2 123456789012 eni-0f1 198.51.100.7 10.0.1.5 443 44321 6 10 9100 1793577600 1793577660 ACCEPT OK\n")
	obj := server.Object{Key: "firehose/req-1", Body: body}
	if res, err := lb.IngestObject(ctx, obj); err != nil || res.Records != 2 || res.Duplicate {
		t.Fatalf("firehose object on clickhouse: %+v, %v; want 2 records stored", res, err)
	}
	if res, err := lb.IngestObject(ctx, obj); err != nil || !res.Duplicate {
		t.Fatalf("retried firehose object on clickhouse: %+v, %v; want a duplicate", res, err)
	}
	rd, err := lb.Reader(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if n := storetest.Count(t, rd, "SELECT count(*) FROM vpc_flow_logs"); n != d.Records+2 {
		t.Errorf("count after a firehose object and its retry = %d, want %d", n, d.Records+2)
	}

	// The console's API over the cluster: overview (positional GROUP BY
	// in its SQL), an entity page and the findings list.
	srv, err := server.New(server.Config{Token: "t0ken"}, lb.Deps())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, path := range []string{"/api/v1/overview", "/api/v1/findings?limit=5", "/api/v1/status"} {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer t0ken")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"error"`)) {
			t.Errorf("GET %s on the cluster: %d %s", path, resp.StatusCode, cutFlag(string(body), 300))
		}
	}
	t.Logf("%d records, %d findings on both stores", d.Records, len(got))
}

// findingLines renders JSONL findings as comparable lines.
func findingLines(t *testing.T, jsonl string) []string {
	t.Helper()
	var out []string
	for _, l := range sortedLines(jsonl) {
		if l == "" {
			continue
		}
		var f detect.Finding
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("cannot parse finding %q: %v", cutFlag(l, 120), err)
		}
		out = append(out, fmt.Sprintf("%s|%s|%s|%.1f|%s|%s", f.ID, f.Detector, f.Severity, f.Score, f.FirstSeen.UTC(), f.Title))
	}
	sort.Strings(out)
	return out
}

// lineDiff lists the lines only in got (-) or only in want (+), at most 20.
func lineDiff(got, want []string) string {
	g, w := map[string]int{}, map[string]int{}
	for _, s := range got {
		g[s]++
	}
	for _, s := range want {
		w[s]++
	}
	var b strings.Builder
	n := 0
	for _, s := range got {
		if w[s] > 0 {
			w[s]--
			continue
		}
		if n++; n <= 20 {
			fmt.Fprintf(&b, "-%s\n", s)
		}
	}
	for s, c := range w {
		for ; c > 0; c-- {
			if n++; n <= 20 {
				fmt.Fprintf(&b, "+%s\n", s)
			}
		}
	}
	if n > 20 {
		fmt.Fprintf(&b, "… %d lines differ\n", n)
	}
	return b.String()
}
