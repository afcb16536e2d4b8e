package correlate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/store"
)

func loadEvents(t *testing.T) []Event {
	t.Helper()
	b, err := os.ReadFile("testdata/cloudtrail.json")
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	evs, err := ParseCloudTrail(&z, "s3://trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/01/x.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestParseCloudTrail(t *testing.T) {
	evs := loadEvents(t)
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s %s %s ok=%v %s", e.EventID, e.EventTime.Format(time.RFC3339), e.EventName, e.Succeeded(), e.Account))
	}
	want := []string{
		"ev-open-5432 2026-11-01T10:00:00Z AuthorizeSecurityGroupIngress ok=true 111122223333",
		"ev-failed 2026-11-01T09:00:00Z AuthorizeSecurityGroupIngress ok=false 111122223333",
		"ev-nacl 2026-11-01T12:00:00Z CreateNetworkAclEntry ok=true 111122223333",
		"ev-del 2026-11-01T13:00:00Z DeleteFlowLogs ok=true 111122223333",
		"ev-create 2026-11-01T13:40:00Z CreateFlowLogs ok=true 111122223333",
		"ev-read 2026-11-01T08:00:00Z DescribeInstances ok=true 111122223333",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("(-got +want)\n- %s\n+ %s", strings.Join(got, "\n- "), strings.Join(want, "\n+ "))
	}
	if row := evs[0].Row(); len(row) != len(CloudTrailColumns()) {
		t.Errorf("row has %d values for %d columns", len(row), len(CloudTrailColumns()))
	}
	if _, err := ParseCloudTrail(strings.NewReader(`{"Records":[{"eventTime":"yesterday"}]}`), "bad.json"); err == nil || !strings.Contains(err.Error(), "bad.json: record 0") {
		t.Errorf("bad time: error %v, want one naming the object and record", err)
	}
	if _, err := ParseCloudTrail(strings.NewReader(`{"Records":`), "cut.json"); err == nil || !strings.Contains(err.Error(), "cannot parse cloudtrail object cut.json") {
		t.Errorf("truncated: error %v", err)
	}
}

func TestOpenings(t *testing.T) {
	var got []string
	for _, o := range Openings(loadEvents(t)) {
		got = append(got, fmt.Sprintf("%s sg=%s acl=%s#%d %s %v", o.Event.EventID, o.GroupID, o.ACLID, o.RuleNumber,
			enrich.PortText(o.Protocol, o.FromPort, o.ToPort), o.CIDRs))
	}
	want := "ev-open-5432 sg=sg-db acl=#0 tcp/5432 [0.0.0.0/0]\nev-nacl sg= acl=acl-web#105 tcp/3389 [0.0.0.0/0]"
	if strings.Join(got, "\n") != want {
		t.Errorf("(-got +want)\n- %s\n+ %s", strings.Join(got, "\n"), want)
	}
}

func TestParseGuardDuty(t *testing.T) {
	f := func(name, doc, want string) {
		t.Helper()
		gds, err := ParseGuardDuty(strings.NewReader(doc), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, g := range gds {
			got = append(got, fmt.Sprintf("%s %s eni=%s local=%s:%d remote=%s:%d %s %s sev=%g", g.ID, g.Type, g.ENI, g.LocalIP, g.LocalPort,
				g.RemoteIP, g.RemotePort, g.Direction, g.ResourceRole, g.Severity))
		}
		if strings.Join(got, "\n") != want {
			t.Errorf("%s (-got +want)\n- %s\n+ %s", name, strings.Join(got, "\n"), want)
		}
	}
	b, err := os.ReadFile("testdata/guardduty-eventbridge.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	both := "gd-probe-1 Recon:EC2/PortProbeUnprotectedPort eni=eni-db local=10.0.3.7:5432 remote=198.51.100.77:0 INBOUND TARGET sev=2\n" +
		"gd-dos Backdoor:EC2/DenialOfService.Tcp eni=eni-web local=10.0.1.10:24198 remote=198.51.100.0:80 OUTBOUND ACTOR sev=8"
	f("eventbridge lines", string(b), both)
	one := `{"id":"gd-1","type":"UnauthorizedAccess:EC2/SSHBruteForce","severity":5,"resource":{"instanceDetails":{"instanceId":"i-web"}},"service":{"resourceRole":"TARGET","action":{"networkConnectionAction":{"connectionDirection":"INBOUND","localNetworkInterface":"eni-web","localPortDetails":{"port":22},"remoteIpDetails":{"ipAddressV4":"203.0.113.50"},"remotePortDetails":{"port":40000}}}}}`
	wantOne := "gd-1 UnauthorizedAccess:EC2/SSHBruteForce eni=eni-web local=:22 remote=203.0.113.50:40000 INBOUND TARGET sev=5"
	f("array", "["+one+"]", wantOne)
	f("get-findings", `{"Findings":[`+one+`]}`, wantOne)
	if _, err := ParseGuardDuty(strings.NewReader(`{"foo":1}`), "x.json"); err == nil || !strings.Contains(err.Error(), "x.json: document 1") {
		t.Errorf("unknown shape: error %v", err)
	}
}

// fakeQuerier answers by the first registered substring of the SQL.
type fakeQuerier struct {
	answers []answer
	calls   []string
}

type answer struct {
	match string
	rows  [][]any
}

func (q *fakeQuerier) Query(_ context.Context, sql string, args ...any) (store.Rows, error) {
	q.calls = append(q.calls, fmt.Sprint(sql, args))
	for _, a := range q.answers {
		if strings.Contains(sql, a.match) {
			return &fakeRows{rows: a.rows}, nil
		}
	}
	return &fakeRows{}, nil
}

type fakeRows struct {
	rows [][]any
	i    int
}

func (r *fakeRows) Columns() ([]string, error) { return nil, nil }
func (r *fakeRows) Next() bool                 { r.i++; return r.i <= len(r.rows) }
func (r *fakeRows) Err() error                 { return nil }
func (r *fakeRows) Close() error               { return nil }
func (r *fakeRows) Scan(dest ...any) error {
	for i, v := range r.rows[r.i-1] {
		switch d := dest[i].(type) {
		case *any:
			*d = v
		case *string:
			*d = v.(string)
		default:
			return fmt.Errorf("fake: cannot scan into %T", d)
		}
	}
	return nil
}

func TestRunCorrelates(t *testing.T) {
	inv, err := enrich.LoadInventoryDir("../audit/testdata/inventory")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC).Unix()
	q := &fakeQuerier{answers: []answer{
		// flows after the change: an internal client (ignored), then two external sources
		{"ORDER BY start, srcaddr", [][]any{
			{"eni-db", "10.0.2.5", int32(50000), "10.0.3.7", int32(5432), at + 60, at + 120, int64(100)},
			{"eni-db", "198.51.100.77", int32(40000), "10.0.3.7", int32(5432), at + 1800, at + 1860, int64(900)},
			{"eni-db", "203.0.113.200", int32(40001), "10.0.3.7", int32(5432), at + 2400, at + 2460, int64(700)},
		}},
		// coverage: 10:00..13:00 continuous, then nothing until 13:45
		{"start / 300", coverageRows("eni-db", time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC),
			time.Date(2026, 11, 1, 13, 45, 0, 0, time.UTC), time.Date(2026, 11, 1, 15, 0, 0, 0, time.UTC))},
		{"FILTER (WHERE action = 'REJECT')", [][]any{{int64(12), int64(5000), int64(0)}}},
	}}
	gds, err := LoadGuardDutyFile("testdata/guardduty-eventbridge.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	own := []detect.Finding{{ID: "fh-scan", Detector: "inbound_probe", Entity: detect.Entity{Kind: detect.EntityIP, Value: "198.51.100.77"},
		Counterparts: []string{"10.0.3.7"}, Score: 60, FirstSeen: time.Unix(at+1800, 0), LastSeen: time.Unix(at+3000, 0)}}
	res, err := Run(context.Background(), q, Input{Inventory: inv, Events: loadEvents(t), GuardDuty: gds, Findings: own}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	byDet := map[string][]detect.Finding{}
	for _, f := range res.Findings {
		byDet[f.Detector] = append(byDet[f.Detector], f)
	}
	exp := byDet[DetSGExposure]
	if len(exp) != 1 {
		t.Fatalf("got %d exposure findings, want 1: %+v", len(exp), res.Findings)
	}
	e := exp[0]
	if e.Links[0] != "cloudtrail:ev-open-5432" || e.Severity != detect.Critical || e.Entity.Value != "10.0.3.7" {
		t.Errorf("exposure finding: links %v severity %v entity %v", e.Links, e.Severity, e.Entity)
	}
	fc := e.Evidence["first_connection"].(map[string]any)
	if fc["src"] != "198.51.100.77" || e.Evidence["external_sources"] != 2 || e.Evidence["delay_seconds"] != int64(1800) {
		t.Errorf("exposure evidence: %v", e.Evidence)
	}
	if !strings.Contains(e.Title, "sg-db (db) opened tcp/5432 to 0.0.0.0/0; first external connection 30m0s later: 198.51.100.77:40000 -> 10.0.3.7:5432 i-db payments-db") {
		t.Errorf("title: %s", e.Title)
	}
	del := byDet[DetFlowLogDeleted]
	if len(del) != 1 || del[0].Evidence["gap_minutes"] != int64(45) || del[0].Evidence["recreated_by_event_id"] != "ev-create" {
		t.Errorf("flow log deletion: %+v", del)
	}
	if n := len(byDet[DetLogGap]); n != 0 {
		t.Errorf("got %d unexplained gaps, want 0 (the only gap follows DeleteFlowLogs)", n)
	}
	if len(res.Corroborated) != 1 || res.Corroborated[0].Score != 75 || res.Corroborated[0].Links[0] != "guardduty:gd-probe-1" {
		t.Errorf("corroborated: %+v", res.Corroborated)
	}
	if own[0].Score != 60 || len(own[0].Links) != 0 {
		t.Errorf("the caller's finding was modified: %+v", own[0])
	}
}

// coverageRows answers the coverage query: eni logged 10 records in each
// 5-minute bucket of the spans [from, to).
func coverageRows(eni string, spans ...time.Time) [][]any {
	var rows [][]any
	for i := 0; i+1 < len(spans); i += 2 {
		for t := spans[i]; t.Before(spans[i+1]); t = t.Add(5 * time.Minute) {
			rows = append(rows, []any{eni, t.Unix() / 300, int64(10)})
		}
	}
	return rows
}

// TestENIGaps: an interface that logged steadily and fell silent while the
// account kept logging is a gap of its own; sporadic interfaces, young
// interfaces and silences of the whole account are not.
func TestENIGaps(t *testing.T) {
	at := func(hh, mm int) time.Time { return time.Date(2026, 11, 1, hh, mm, 0, 0, time.UTC) }
	var rows [][]any
	add := func(eni string, every int, spans ...time.Time) {
		for i, r := range coverageRows(eni, spans...) {
			if i%every == 0 {
				rows = append(rows, r)
			}
		}
	}
	// 13:00-13:30: nobody logs (account-wide, reported once elsewhere).
	add("eni-steady", 1, at(9, 0), at(13, 0), at(13, 30), at(15, 0))
	add("eni-hole", 1, at(9, 0), at(11, 0), at(11, 30), at(13, 0), at(13, 30), at(15, 0))
	add("eni-sporadic", 3, at(9, 0), at(11, 0), at(11, 40), at(13, 0))
	add("eni-stopped", 1, at(9, 0), at(12, 0))
	add("eni-young", 1, at(10, 50), at(11, 0), at(11, 30), at(13, 0))
	q := &fakeQuerier{answers: []answer{{"start / 300", rows}}}
	per, acct, counts, err := coverage(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{}
	cfg.defaults(nil)
	var got []string
	for _, g := range eniGaps(per, acct, counts, &cfg) {
		got = append(got, fmt.Sprintf("%s %s..%s trailing=%v before=%.2f", g.eni, g.gap.start().Format("15:04"), g.gap.end().Format("15:04"), g.trailing, g.before))
	}
	want := []string{
		"eni-hole 11:00..11:30 trailing=false before=1.00",
		"eni-stopped 12:00..15:00 trailing=true before=1.00",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("(-got +want)\n- %s\n+ %s", strings.Join(got, "\n- "), strings.Join(want, "\n+ "))
	}

	// Through Run: the ENI gap becomes a flow_log_gap finding on the ENI,
	// and the account-wide silence one on the account.
	inv, err := enrich.LoadInventoryDir("../audit/testdata/inventory")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), q, Input{Inventory: inv}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	var gaps []string
	for _, f := range res.Findings {
		if f.Detector == DetLogGap {
			gaps = append(gaps, fmt.Sprintf("%s:%s %s %v", f.Entity.Kind, f.Entity.Value, f.FirstSeen.Format("15:04"), f.Evidence["gap_minutes"]))
		}
	}
	sort.Strings(gaps)
	wantGaps := "account:- 13:00 30\neni:eni-hole 11:00 30\neni:eni-stopped 12:00 180"
	if strings.Join(gaps, "\n") != wantGaps {
		t.Errorf("gap findings (-got +want)\n- %s\n+ %s", strings.Join(gaps, "\n- "), wantGaps)
	}
}

// TestSave: correlation findings land in the findings store with their
// links, keep an analyst's status on a re-run, and corroborated flowhunt
// findings are updated in place.
func TestSave(t *testing.T) {
	fst := detect.NewFindingStore(t.TempDir())
	own := detect.Finding{ID: "fh-own", Detector: "inbound_probe", Score: 60, Status: detect.StatusOpen}
	if _, err := fst.Merge([]detect.Finding{own}); err != nil {
		t.Fatal(err)
	}
	boosted := own
	boosted.Score, boosted.Links = 75, []string{"guardduty:gd-1"}
	res := &Result{
		Findings:     []detect.Finding{{ID: "fh-exp", Detector: DetSGExposure, Links: []string{"cloudtrail:ev-1"}, Score: 92}},
		Corroborated: []detect.Finding{boosted},
	}
	stored, err := Save(fst, res)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || stored[0].Status != detect.StatusOpen || stored[0].Created.IsZero() {
		t.Fatalf("stored: %+v", stored)
	}
	if _, err := fst.SetStatus("fh-exp", detect.StatusAcknowledged); err != nil {
		t.Fatal(err)
	}
	if _, err := Save(fst, res); err != nil {
		t.Fatal(err)
	}
	all, err := fst.Load()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]detect.Finding{}
	for _, f := range all {
		got[f.ID] = f
	}
	if len(all) != 2 || got["fh-exp"].Links[0] != "cloudtrail:ev-1" || got["fh-exp"].Status != detect.StatusAcknowledged {
		t.Errorf("exposure finding after re-run: %+v (of %d)", got["fh-exp"], len(all))
	}
	if got["fh-own"].Score != 75 || len(got["fh-own"].Links) != 1 {
		t.Errorf("corroborated finding: %+v", got["fh-own"])
	}
}
