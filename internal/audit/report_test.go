package audit

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

// flow builds an aggregated row: src:sport -> dst:dport.
func flow(eni, src string, sport int, dst string, dport int, action string, records int64) Flow {
	f := Flow{ENI: eni, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Protocol: 6, Action: action,
		Records: records, Bytes: records * 1000, First: 1_790_000_000, Last: 1_790_000_060}
	f.ToService = dport <= sport
	f.ServicePort, f.EphemeralMin = min(sport, dport), max(sport, dport)
	f.EphemeralMax = f.EphemeralMin
	return f
}

func auditFixture() []Flow {
	return []Flow{
		// Internet users on web:443, both directions; the reply direction is
		// REJECTed by acl-web (no outbound ephemeral rule).
		flow("eni-web", "198.51.100.9", 50123, "10.0.1.10", 443, "ACCEPT", 10),
		flow("eni-web", "10.0.1.10", 443, "198.51.100.9", 50123, "REJECT", 10),
		// web -> app:8080, logged on both ENIs.
		flow("eni-web", "10.0.1.10", 51000, "10.0.2.5", 8080, "ACCEPT", 4),
		flow("eni-app", "10.0.1.10", 51000, "10.0.2.5", 8080, "ACCEPT", 4),
		flow("eni-app", "10.0.2.5", 8080, "10.0.1.10", 51000, "ACCEPT", 4),
		// app -> db:5432 (allowed by policy) and the internet -> db:5432
		// through the open rule (a violation, and an open rule used).
		flow("eni-db", "10.0.2.5", 52000, "10.0.3.7", 5432, "ACCEPT", 7),
		flow("eni-db", "198.51.100.77", 40000, "10.0.3.7", 5432, "ACCEPT", 3),
		flow("eni-db", "203.0.113.200", 40001, "10.0.3.7", 5432, "ACCEPT", 2),
		// Internet -> db:22 is dropped by the NACL '*' (22 only from app subnet).
		flow("eni-db", "198.51.100.77", 40002, "10.0.3.7", 22, "REJECT", 5),
		// app2 -> db:22: NACL rule 90 denies.
		flow("eni-db", "10.0.2.66", 52001, "10.0.3.7", 22, "REJECT", 1),
		// db opens a connection on 3306 to app: SG egress only allows 443 to S3,
		// yet it was ACCEPTed: unexplained.
		flow("eni-db", "10.0.3.7", 53000, "10.0.2.5", 3306, "ACCEPT", 2),
		// An interface missing from the inventory.
		flow("eni-gone", "10.0.9.9", 53000, "10.0.2.5", 443, "ACCEPT", 6),
	}
}

func TestAudit(t *testing.T) {
	inv := testInventory(t)
	pol, err := ParsePolicies("inline", strings.NewReader(`
policies:
  - name: db-only-from-app
    description: the database subnet accepts only from the application subnet on 5432
    to: {subnets: [db-private]}
    allow_only:
      - from: {subnets: [subnet-app]}
        ports: ["5432"]
        protocol: tcp
`))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Audit(inv, auditFixture(), Config{Policies: pol})
	if err != nil {
		t.Fatal(err)
	}
	hits := map[string]int64{}
	for _, r := range rep.Rules {
		hits[r.RuleID] = r.Records
	}
	f := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s (-got +want)\n- %v\n+ %v", what, got, want)
		}
	}
	f("sg-web:in:0 hits (replies not counted)", hits["sg-web:in:0"], 10)
	f("sg-app:in:0 hits (group reference, seen on app's ENI only)", hits["sg-app:in:0"], 4)
	f("sg-app:in:1 hits (overlapping CIDR rule)", hits["sg-app:in:1"], 4)
	f("sg-db:in:0 hits", hits["sg-db:in:0"], 7)
	f("sg-db:in:1 hits", hits["sg-db:in:1"], 12)
	f("sg-web egress (web opened app:8080)", hits["sg-web:out:0"], 4)
	var unused []string
	for _, u := range rep.Unused {
		unused = append(unused, u.RuleID)
	}
	f("unused", strings.Join(unused, " "), "sg-web:in:1 sg-web:in:2 sg-app:out:0 sg-db:out:0 sg-mon:in:0")
	var open []string
	for _, u := range rep.OpenUsed {
		open = append(open, fmt.Sprintf("%s/%s/%d", u.GroupName, u.Ports, u.ExternalPeers))
	}
	f("open rules used from outside, sensitive first", strings.Join(open, " "), "db/tcp/5432/2 web/tcp/443/1")
	var rej []string
	for _, r := range rep.Rejects {
		rej = append(rej, fmt.Sprintf("%s %s %s reply=%v by %s: %s (%d)", r.ENI, r.Direction, r.Ports, r.Reply, r.By, r.Rule, r.Records))
	}
	f("rejects", strings.Join(rej, "\n"), strings.Join([]string{
		"eni-web egress tcp/50123 reply=true by network-acl: acl-web rule * (10)",
		"eni-db ingress tcp/22 reply=false by network-acl: acl-db rule * (5)",
		"eni-db ingress tcp/22 reply=false by network-acl: acl-db rule 90 (1)",
	}, "\n"))
	var unex []string
	for _, u := range rep.Unexplained {
		unex = append(unex, u.ENI+" "+u.Direction+" "+u.Remote+" "+u.Ports+": "+u.Reason)
	}
	f("unexplained", strings.Join(unex, "\n"), "eni-db egress 10.0.2.5 tcp/3306: no security group rule allows it")
	f("unknown ENI records", rep.UnknownENIRecords, 6)
	var viol []string
	for _, v := range rep.Violations {
		viol = append(viol, fmt.Sprintf("%s %s %s->%s %s (%d, %d proof)", v.Policy, v.Kind, v.Src, v.Dst, v.Ports, v.Records, len(v.Proof)))
	}
	f("violations", strings.Join(viol, "\n"), strings.Join([]string{
		"db-only-from-app not-allowed 198.51.100.77->10.0.3.7 tcp/5432 (3, 1 proof)",
		"db-only-from-app not-allowed 203.0.113.200->10.0.3.7 tcp/5432 (2, 1 proof)",
	}, "\n"))
	var acl []string
	for _, n := range rep.NACL {
		acl = append(acl, fmt.Sprintf("%s %s %s %s=%d", n.ACL, n.Direction, n.Rule, n.Action, n.Records))
	}
	f("nacl hits", strings.Join(acl, " "), "acl-db ingress 90 deny=1 acl-db ingress 100 allow=12 acl-db ingress * deny=5 "+
		"acl-db egress 100 allow=2 acl-default ingress 100 allow=4 acl-default egress 100 allow=4 acl-web ingress 100 allow=10 acl-web egress 110 allow=4 acl-web egress * deny=10")
}

func TestParsePoliciesErrors(t *testing.T) {
	f := func(doc, want string) {
		t.Helper()
		_, err := ParsePolicies("p.yaml", strings.NewReader(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePolicies(%q) error = %v, want it to contain %q", doc, err, want)
		}
	}
	f("policies:\n  - to: {any: true}\n    deny: [{from: {any: true}}]\n", "policy without a name")
	f("policies:\n  - name: x\n    to: {any: true}\n", `policy "x": needs allow_only or deny`)
	f("policies:\n  - name: x\n    to: {cidrs: [10.0.0.0/33]}\n    deny: [{from: {any: true}}]\n", `cannot parse CIDR "10.0.0.0/33"`)
	f("policies:\n  - name: x\n    to: {any: true}\n    deny: [{from: {any: true}, ports: [\"9-1\"]}]\n", `cannot parse port range "9-1"`)
	f("policies:\n  - name: x\n    frm: {}\n", "cannot parse policies p.yaml")
}

// fakeRows serves fixed rows to Observe.
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
		*dest[i].(*any) = v
	}
	return nil
}

type fakeQuerier struct {
	sql  string
	args []any
	rows [][]any
}

func (q *fakeQuerier) Query(_ context.Context, sql string, args ...any) (store.Rows, error) {
	q.sql, q.args = sql, args
	return &fakeRows{rows: q.rows}, nil
}

func TestObserveScansRows(t *testing.T) {
	q := &fakeQuerier{rows: [][]any{
		{"eni-web", "198.51.100.9", "10.0.1.10", int32(6), "ACCEPT", true, int32(443), int32(50000), int32(50200), int64(3), int64(30), int64(3000), int64(100), int64(160), "ingress"},
		{"eni-web", "-", "10.0.1.10", int32(6), "ACCEPT", true, int32(443), int32(50000), int32(50200), int64(3), int64(30), int64(3000), int64(100), int64(160), ""},
	}}
	flows, err := Observe(context.Background(), q, timeUnix(100), timeUnix(200))
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1 {
		t.Fatalf("got %d flows, want 1 (the '-' address is skipped)", len(flows))
	}
	got := fmt.Sprintf("%+v", flows[0])
	want := "{ENI:eni-web Src:198.51.100.9 Dst:10.0.1.10 Protocol:6 Action:ACCEPT ToService:true ServicePort:443 EphemeralMin:50000 EphemeralMax:50200 Records:3 Packets:30 Bytes:3000 First:100 Last:160 Direction:ingress}"
	if got != want {
		t.Errorf("(-got +want)\n- %s\n+ %s", got, want)
	}
	// The window bounds the records and both listening lookups; the SQL
	// avoids what ClickHouse 18.16 refuses (CTEs, JOIN … ON).
	if fmt.Sprint(q.args) != "[100 200 100 200 100 200]" || !strings.Contains(q.sql, `max("end")`) ||
		strings.HasPrefix(q.sql, "WITH") || strings.Contains(q.sql, " ON ") || strings.Count(q.sql, "USING (") != 2 {
		t.Errorf("query args %v, sql %s", q.args, q.sql)
	}
	// ClickHouse returns the judgement as UInt8.
	q.rows = [][]any{{"eni-web", "10.0.1.10", "198.51.100.9", int32(6), "ACCEPT", uint8(0), int32(443), int32(50000), int32(50200), int64(3), int64(30), int64(3000), int64(100), int64(160), "egress"}}
	if flows, err = Observe(context.Background(), q, timeUnix(100), timeUnix(200)); err != nil || len(flows) != 1 || flows[0].ToService {
		t.Errorf("UInt8 0 read as %+v, %v; want ToService false", flows, err)
	}
	q.rows[0][5] = uint8(1)
	if flows, err = Observe(context.Background(), q, timeUnix(100), timeUnix(200)); err != nil || len(flows) != 1 || !flows[0].ToService {
		t.Errorf("UInt8 1 read as %+v, %v; want ToService true", flows, err)
	}
}

func timeUnix(s int64) time.Time { return time.Unix(s, 0) }
