package simulate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/klauspost/compress/gzip"
)

// smallConfig is quick to generate and still holds every attack.
func smallConfig() Config {
	return Config{Seed: 7, Duration: 6 * time.Hour, Scale: 0.3, FormatsSlice: 15 * time.Minute}
}

var shared struct {
	dir   string
	sum   Summary
	truth *Truth
	flows []flow
	objs  []object
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "simulate-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		shared.dir = dir
		shared.sum, err = Generate(context.Background(), smallConfig(), dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "generate:", err)
			return 1
		}
		if shared.truth, err = LoadTruth(filepath.Join(dir, "truth.json")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if shared.objs, shared.flows, err = readObjects(filepath.Join(dir, "s3")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// flow is one decoded record with the facts the tests check.
type flow struct {
	obj                           int // index in shared.objs
	eni, src, dst, pktSrc, pktDst string
	sport, dport, proto           int64
	packets, bytes                int64
	start, end, flags             int64
	hasFlags, hasPkt              bool
	action, status, dir           string
}

type object struct {
	key      string
	flowLog  string
	slot     int64 // unix start of the 5 minutes named by the key
	fields   int
	interval int64
}

var keyRE = regexp.MustCompile(`^AWSLogs/(\d{12})/vpcflowlogs/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/(\d{12})_vpcflowlogs_([a-z0-9-]+)_(fl-[0-9a-f]+)_(\d{8}T\d{4}Z)_([0-9a-f]{8})\.log\.gz$`)

// readObjects decodes every S3 text object with the flowlog decoder.
func readObjects(root string) ([]object, []flow, error) {
	var objs []object
	var flows []flow
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		key, _ := filepath.Rel(root, path)
		m := keyRE.FindStringSubmatch(filepath.ToSlash(key))
		if m == nil {
			return fmt.Errorf("object key %q does not follow the AWS layout", key)
		}
		ts, err := time.Parse("20060102T1504Z", m[9])
		if err != nil {
			return err
		}
		if m[1] != m[6] || m[2] != m[7] || ts.Format("2006/01/02") != m[3]+"/"+m[4]+"/"+m[5] {
			return fmt.Errorf("object key %q: directory and file name disagree", key)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		oi := len(objs)
		o := object{key: key, flowLog: m[8], slot: ts.Unix()}
		_, err = flowlog.Decode(context.Background(), f, flowlog.DecodeOptions{Object: key, Format: flowlog.FormatText},
			func(b *flowlog.Batch) error {
				o.fields = 0
				for fl := flowlog.Field(0); fl < flowlog.NumFields; fl++ {
					if b.Has(fl) {
						o.fields++
					}
				}
				for i := 0; i < b.Len; i++ {
					str := func(fl flowlog.Field) string {
						if !b.Has(fl) || b.Null[fl][i] {
							return ""
						}
						return string(b.Str[fl].Get(i))
					}
					num := func(fl flowlog.Field) (int64, bool) {
						if !b.Has(fl) || b.Null[fl][i] {
							return 0, false
						}
						return b.Int[fl][i], true
					}
					var r flow
					r.obj = oi
					r.eni, r.src, r.dst = str(flowlog.InterfaceID), str(flowlog.SrcAddr), str(flowlog.DstAddr)
					r.pktSrc, r.pktDst = str(flowlog.PktSrcAddr), str(flowlog.PktDstAddr)
					r.hasPkt = b.Has(flowlog.PktSrcAddr)
					r.sport, _ = num(flowlog.SrcPort)
					r.dport, _ = num(flowlog.DstPort)
					r.proto, _ = num(flowlog.Protocol)
					r.packets, _ = num(flowlog.Packets)
					r.bytes, _ = num(flowlog.Bytes)
					r.start, _ = num(flowlog.Start)
					r.end, _ = num(flowlog.End)
					r.flags, r.hasFlags = num(flowlog.TCPFlags)
					r.action, r.status, r.dir = str(flowlog.Action), str(flowlog.LogStatus), str(flowlog.FlowDirection)
					flows = append(flows, r)
				}
				return nil
			}, nil)
		if err != nil {
			return fmt.Errorf("cannot decode %s: %w", key, err)
		}
		o.interval = 600
		if o.fields == 14 {
			o.interval = 60
		}
		objs = append(objs, o)
		return nil
	})
	return objs, flows, err
}

func TestObjectsLikeAWS(t *testing.T) {
	if shared.sum.Records != int64(len(shared.flows)) {
		t.Fatalf("summary says %d records, objects hold %d", shared.sum.Records, len(shared.flows))
	}
	fieldCounts := map[int]int{}
	for _, o := range shared.objs {
		fieldCounts[o.fields]++
	}
	if fieldCounts[29] == 0 || fieldCounts[14] == 0 || len(fieldCounts) != 2 {
		t.Errorf("objects by field count = %v, want 29-field (custom v2-v5) and 14-field (default) objects only", fieldCounts)
	}
	for _, f := range shared.flows {
		o := shared.objs[f.obj]
		if f.end < o.slot || f.end >= o.slot+slotSeconds {
			t.Fatalf("%s: record ending at %d is outside the object's 5 minutes from %d", o.key, f.end, o.slot)
		}
	}
}

func TestWindowsAligned(t *testing.T) {
	for _, f := range shared.flows {
		w := shared.objs[f.obj].interval
		if f.start > f.end || f.start/w != f.end/w {
			t.Fatalf("record %+v: start %d and end %d are not inside one %d s aggregation window", f, f.start, f.end, w)
		}
	}
}

func TestValuesValid(t *testing.T) {
	var nodata, ok int
	for _, f := range shared.flows {
		switch f.status {
		case "NODATA", "SKIPDATA":
			nodata++
			if f.src != "" || f.action != "" || f.packets != 0 {
				t.Fatalf("%s record carries flow fields: %+v", f.status, f)
			}
			continue
		case "OK":
			ok++
		default:
			t.Fatalf("log-status %q", f.status)
		}
		if f.action != "ACCEPT" && f.action != "REJECT" {
			t.Fatalf("action %q in %+v", f.action, f)
		}
		if f.sport < 0 || f.sport > 65535 || f.dport < 0 || f.dport > 65535 {
			t.Fatalf("port out of range: %+v", f)
		}
		switch f.proto {
		case 6:
		case 17:
			if f.flags != 0 {
				t.Fatalf("UDP record with tcp-flags %d: %+v", f.flags, f)
			}
		case 1:
			if f.sport != 0 || f.dport != 0 {
				t.Fatalf("ICMP record with ports: %+v", f)
			}
		default:
			t.Fatalf("unexpected protocol %d: %+v", f.proto, f)
		}
		if f.hasFlags {
			// Only FIN, SYN, RST and SYN-ACK are reported; ACK only inside SYN-ACK.
			if f.flags&^0x17 != 0 || (f.flags&16 != 0 && f.flags&2 == 0) {
				t.Fatalf("invalid tcp-flags %d: %+v", f.flags, f)
			}
		}
		if f.packets <= 0 || f.bytes < f.packets*20 {
			t.Fatalf("packets/bytes implausible: %+v", f)
		}
		if f.dir != "" && f.dir != "ingress" && f.dir != "egress" {
			t.Fatalf("flow-direction %q", f.dir)
		}
	}
	if nodata == 0 || ok == 0 {
		t.Errorf("got %d OK and %d NODATA/SKIPDATA records, want both", ok, nodata)
	}
}

func TestNoUnloggedTraffic(t *testing.T) {
	for _, f := range shared.flows {
		for _, a := range []string{f.src, f.dst, f.pktSrc, f.pktDst} {
			if a == "" {
				continue
			}
			ip := netip.MustParseAddr(a)
			if ip.Is6() {
				if ip.IsLinkLocalUnicast() || ip == netip.MustParseAddr("fd00:ec2::254") || ip == netip.MustParseAddr("fd00:ec2::123") {
					t.Fatalf("link-local, metadata and time-sync traffic is never logged: %+v", f)
				}
				continue
			}
			b := ip.As4()
			if b[0] == 169 && b[1] == 254 {
				t.Fatalf("link-local (metadata, time sync) traffic is never logged: %+v", f)
			}
			if b[0] == 10 && b[2]%10 == 0 && b[3] == 2 && (b[1] == 0 || b[1] == 1) && b[2] == 0 {
				t.Fatalf("VPC resolver traffic is never logged: %+v", f)
			}
		}
		if f.proto == 17 && (f.dport == 67 || f.dport == 68 || f.sport == 67 || f.sport == 68) {
			t.Fatalf("DHCP is never logged: %+v", f)
		}
	}
}

// TestBothDirections checks that a connection appears as AWS logs it: the
// answer beside every accepted connection start on the server's ENI, and the
// same flow on both ENIs when two interfaces of the account talk.
func TestBothDirections(t *testing.T) {
	type key struct {
		eni, src, dst string
		sport, dport  int64
		w             int64
	}
	have := map[key]flow{}
	for _, f := range shared.flows {
		if f.status == "OK" {
			have[key{f.eni, f.src, f.dst, f.sport, f.dport, f.end / shared.objs[f.obj].interval}] = f
		}
	}
	eniByIP := map[string]string{}
	var inv struct {
		NetworkInterfaces []struct{ NetworkInterfaceId, PrivateIpAddress, InterfaceType string }
	}
	readJSON(t, filepath.Join(shared.dir, "inventory", "describe-network-interfaces.json"), &inv)
	for _, n := range inv.NetworkInterfaces {
		if n.InterfaceType == "interface" {
			eniByIP[n.PrivateIpAddress] = n.NetworkInterfaceId
		}
	}
	answered, mirrored := 0, 0
	for k, f := range have {
		w := shared.objs[f.obj].interval
		if f.proto == 6 && f.dir != "egress" && f.action == "ACCEPT" && f.flags&2 != 0 && f.flags&16 == 0 {
			if _, ok := have[key{k.eni, k.dst, k.src, k.dport, k.sport, k.w}]; !ok {
				t.Fatalf("accepted connection start without its answer on %s: %+v", k.eni, f)
			}
			answered++
		}
		// NAT gateway records towards an instance keep the outside source
		// (pkt-srcaddr); the instance logs that address, not the gateway's.
		if f.dir == "egress" && f.proto == 6 && f.pktSrc == f.src {
			peer, ok := eniByIP[f.dst]
			if !ok || peer == f.eni {
				continue
			}
			pw := int64(600)
			if strings.HasPrefix(f.dst, "10.1.") {
				pw = 60
			}
			if _, ok := have[key{peer, k.src, k.dst, k.sport, k.dport, f.end / pw}]; !ok {
				t.Fatalf("flow %+v (window %d s) missing on the receiving ENI %s", f, w, peer)
			}
			mirrored++
		}
	}
	if answered < 1000 || mirrored < 1000 {
		t.Errorf("checked %d answered starts and %d mirrored flows; the sample is too small to mean anything", answered, mirrored)
	}
}

func TestNATGatewayRecords(t *testing.T) {
	n := 0
	for _, f := range shared.flows {
		if f.hasPkt && f.pktDst != "" && f.pktDst != f.dst {
			n++
		}
	}
	if n == 0 {
		t.Errorf("no record with pkt-dstaddr != dstaddr: NAT gateway traffic missing")
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestTruthInData checks each truth entry against the records: traffic
// between its actors and targets exists inside its window, and none of it
// (on the entry's ports) falls outside the windows of its class.
func TestTruthInData(t *testing.T) {
	tr := shared.truth
	classes := map[string]bool{}
	for _, a := range tr.Attacks {
		classes[a.Class] = true
	}
	for _, c := range []string{ClassReconVerticalScan, ClassReconHorizontalScan, ClassReconSlowScan, ClassBruteForce,
		ClassLateralMovement, ClassExfilBulk, ClassExfilLowSlow, ClassC2Beacon, ClassCryptomining, ClassDoSInbound,
		ClassDoSOutbound, ClassDNSExternalResolver, ClassThreatIntelContact, ClassExposedPort, ClassLoggingGap,
		ClassBenignBackup, ClassBenignMonitoring, ClassBenignVulnScanner} {
		if !classes[c] {
			t.Errorf("truth has no %s entry", c)
		}
	}
	set := func(ss []string) map[string]bool {
		m := map[string]bool{}
		for _, s := range ss {
			m[s] = true
		}
		return m
	}
	matches := func(a *Attack, act, tgt map[string]bool, ports map[int64]bool, f *flow) bool {
		if f.status != "OK" {
			return false
		}
		// The request goes from an actor to a target port; the answer back.
		fwd := act[f.src] && tgt[f.dst] && (len(ports) == 0 || ports[f.dport])
		rev := tgt[f.src] && act[f.dst] && (len(ports) == 0 || ports[f.sport])
		return fwd || rev
	}
	for i := range tr.Attacks {
		a := &tr.Attacks[i]
		if a.Class == ClassLoggingGap {
			continue
		}
		act, tgt := set(a.Actors), set(a.Targets)
		ports := map[int64]bool{}
		for _, p := range a.Ports {
			ports[int64(p)] = true
		}
		enis := set(a.ENIs)
		seenENI := map[string]bool{}
		inside := 0
		for j := range shared.flows {
			f := &shared.flows[j]
			if !matches(a, act, tgt, ports, f) {
				continue
			}
			if f.start >= a.Start.Unix() && f.end <= a.End.Unix() {
				inside++
				seenENI[f.eni] = true
				continue
			}
			// Outside this entry's window: must be inside another entry of the class.
			ok := false
			for k := range tr.Attacks {
				b := &tr.Attacks[k]
				if k != i && b.Class == a.Class && f.start >= b.Start.Unix() && f.end <= b.End.Unix() {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s: record outside [%s, %s]: %+v", a.ID, a.Start, a.End, *f)
				break
			}
		}
		if inside == 0 {
			t.Errorf("%s: no record between its actors and targets inside its window", a.ID)
		}
		for e := range enis {
			if !seenENI[e] {
				t.Errorf("%s: ENI %s listed in truth but carries none of its records", a.ID, e)
			}
		}
	}
}

func TestLoggingGap(t *testing.T) {
	gaps := shared.truth.ByClass(ClassLoggingGap)
	if len(gaps) != 1 {
		t.Fatalf("got %d logging_gap entries, want 1", len(gaps))
	}
	g := gaps[0]
	ids := map[string]bool{}
	for _, o := range shared.objs {
		if o.fields != 29 {
			continue
		}
		if o.slot >= g.Start.Unix() && o.slot <= g.End.Unix() {
			t.Errorf("primary VPC object %s inside the logging gap", o.key)
		}
		ids[o.flowLog] = true
	}
	if len(ids) != 2 {
		t.Errorf("primary VPC objects name %d flow logs, want 2 (deleted and re-created): %v", len(ids), ids)
	}
}

func TestSideFiles(t *testing.T) {
	var sgs struct {
		SecurityGroups []struct {
			GroupId, GroupName string
			IpPermissions      []struct {
				FromPort int
				IpRanges []struct{ CidrIp string }
			}
		}
	}
	readJSON(t, filepath.Join(shared.dir, "inventory", "describe-security-groups.json"), &sgs)
	var open string
	for _, g := range sgs.SecurityGroups {
		for _, p := range g.IpPermissions {
			for _, r := range p.IpRanges {
				if p.FromPort == 3306 && r.CidrIp == "0.0.0.0/0" {
					open = g.GroupId
				}
			}
		}
	}
	if open == "" {
		t.Fatal("no security group opens 3306 to 0.0.0.0/0")
	}
	var events []map[string]any
	err := filepath.WalkDir(filepath.Join(shared.dir, "cloudtrail"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := gunzip(path)
		if err != nil {
			return err
		}
		var doc struct{ Records []map[string]any }
		if err := json.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		events = append(events, doc.Records...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, e := range events {
		names[e["eventName"].(string)]++
		if e["eventName"] == "AuthorizeSecurityGroupIngress" {
			if gid := e["requestParameters"].(map[string]any)["groupId"]; gid != open {
				t.Errorf("AuthorizeSecurityGroupIngress on %v, want %s", gid, open)
			}
		}
	}
	for _, n := range []string{"AuthorizeSecurityGroupIngress", "DeleteFlowLogs", "CreateFlowLogs", "DescribeInstances"} {
		if names[n] == 0 {
			t.Errorf("CloudTrail has no %s event (have %v)", n, names)
		}
	}
	var gd struct{ Findings []struct{ Type string } }
	readJSON(t, filepath.Join(shared.dir, "guardduty", "findings.json"), &gd)
	types := map[string]bool{}
	for _, f := range gd.Findings {
		types[f.Type] = true
	}
	for _, typ := range []string{"UnauthorizedAccess:EC2/SSHBruteForce", "Backdoor:EC2/C&CActivity.B",
		"CryptoCurrency:EC2/BitcoinTool.B", "Recon:EC2/PortProbeUnprotectedPort"} {
		if !types[typ] {
			t.Errorf("GuardDuty findings lack %s", typ)
		}
	}
	bl, err := os.ReadFile(filepath.Join(shared.dir, "intel", "blocklist.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range shared.truth.ByClass(ClassThreatIntelContact) {
		for _, ip := range a.Targets {
			if !bytes.Contains(bl, []byte("\n"+ip+"\n")) {
				t.Errorf("blocklist lacks listed address %s", ip)
			}
		}
	}
}

func gunzip(path string) ([]byte, error) { return gunzipRaw(path) }

// TestFormatsAgree decodes every other delivery format of the slice and
// compares the record count with the S3 text of the same slots.
func TestFormatsAgree(t *testing.T) {
	base := filepath.Join(shared.dir, "formats")
	counts := map[string]int64{}
	layouts := map[string]flowlog.Layout{}
	for _, v := range []string{"prod", "shared-services"} {
		b, err := os.ReadFile(filepath.Join(base, "cloudwatch", v+".logformat"))
		if err != nil {
			t.Fatal(err)
		}
		l, err := flowlog.ParseLayout(string(b))
		if err != nil {
			t.Fatal(err)
		}
		layouts[v] = l
	}
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".logformat") {
			return err
		}
		rel, _ := filepath.Rel(base, path)
		kind := strings.Split(rel, string(filepath.Separator))[0]
		opts := flowlog.DecodeOptions{Object: rel}
		switch {
		case kind == "cloudwatch":
			kind += "/" + strings.Split(rel, string(filepath.Separator))[1]
			opts.Format = flowlog.FormatCloudWatch
			opts.Layout = layouts["prod"]
			if strings.Contains(rel, "shared-services") {
				opts.Layout = layouts["shared-services"]
			}
		case kind == "firehose":
			opts.Format = flowlog.FormatFirehose
			opts.Layout = layouts["prod"]
			if strings.Contains(rel, "shared-services") {
				opts.Layout = layouts["shared-services"]
			}
		case kind == "parquet":
			opts.Format = flowlog.FormatParquet
		default:
			opts.Format = flowlog.FormatText
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := flowlog.Decode(context.Background(), f, opts, func(*flowlog.Batch) error { return nil }, nil)
		if err != nil {
			return fmt.Errorf("cannot decode %s: %w", rel, err)
		}
		counts[kind] += st.Records
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p := newPlan(func() *Config { c := smallConfig(); _ = c.Validate(); return &c }())
	first, last := p.formatsSlice()
	var want int64
	for _, o := range shared.objs {
		if s := (o.slot - p.start) / slotSeconds; s >= first && s < last {
			for _, f := range shared.flows {
				if shared.objs[f.obj].key == o.key {
					want++
				}
			}
		}
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	if len(kinds) != 6 {
		t.Errorf("formats written: %v, want cloudwatch/{console,export,subscription}, firehose, parquet, s3-hive", kinds)
	}
	for _, k := range kinds {
		if counts[k] != want {
			t.Errorf("%s holds %d records, the S3 text of the same slots %d", k, counts[k], want)
		}
	}
}

// TestDeterministic generates the same config twice, with different worker
// counts, and compares every byte; another seed must change the data.
func TestDeterministic(t *testing.T) {
	cfg := Config{Seed: 3, Duration: 2 * time.Hour, Scale: 0.1, FormatsSlice: 10 * time.Minute}
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	cfg.Workers = 1
	if _, err := Generate(context.Background(), cfg, a); err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 3
	if _, err := Generate(context.Background(), cfg, b); err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 4
	if _, err := Generate(context.Background(), cfg, c); err != nil {
		t.Fatal(err)
	}
	ha, hb, hc := treeHash(t, a), treeHash(t, b), treeHash(t, c)
	if len(ha) < 50 {
		t.Fatalf("only %d files generated", len(ha))
	}
	for k, v := range ha {
		if hb[k] != v {
			t.Errorf("%s differs between runs with the same seed", k)
		}
	}
	if len(ha) != len(hb) {
		t.Errorf("runs wrote %d and %d files", len(ha), len(hb))
	}
	if ha["truth.json"] == hc["truth.json"] {
		t.Errorf("another seed gave the same truth.json")
	}
}

func treeHash(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		out[rel] = fmt.Sprintf("%x", sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	f := func(c Config, wantErr bool) {
		t.Helper()
		err := c.Validate()
		if (err != nil) != wantErr {
			t.Errorf("Validate(%+v) = %v, want error %v", c, err, wantErr)
		}
	}
	f(Config{}, false)
	f(Config{Duration: time.Minute}, true)
	f(Config{Scale: -1}, true)
	f(Config{AccountID: "12345"}, true)
	f(Config{AccountID: "12345678901x"}, true)
	f(Config{Duration: 2 * time.Hour, FormatsSlice: 3 * time.Hour}, true)
	c := DefaultConfig()
	if c.Duration != 48*time.Hour || c.Scale != 1 || !c.Start.Equal(DefaultStart) || c.Workers < 1 {
		t.Errorf("DefaultConfig() = %+v", c)
	}
}

// BenchmarkGenerate prints records/s of S3 text generation (gzip included).
// FLOWHUNT_SIM_RECORDS sets the target size (default 1000000; 10000000 for
// the 10 M figure).
func BenchmarkGenerate(b *testing.B) {
	target := int64(1_000_000)
	if v := os.Getenv("FLOWHUNT_SIM_RECORDS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		target = n
	}
	// About 1.0 M records per 2 days at scale 1.
	cfg := Config{Seed: 1, Scale: max(0.05, float64(target)/1_030_000), NoFormats: true, NoSideFiles: true}
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		sum, err := Generate(context.Background(), cfg, dir)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(sum.TextBytes)
		b.ReportMetric(float64(sum.Records), "records")
		b.ReportMetric(sum.RecordsPerSec, "records/s")
	}
}

func gunzipRaw(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// outputDigest is the digest of smallConfig's output at OutputVersion:
// flow-log records (decompressed, so a compressor update changes nothing),
// truth and side files; the delivery-format copies are left out.
const outputDigest = "5b5d2a8214c4e653efa7075a121692c68f02f28cfc21e51ddbcbc7bbe0e84a3c"

// TestOutputVersion notices any change of what the simulator writes.
func TestOutputVersion(t *testing.T) {
	h := sha256.New()
	err := filepath.WalkDir(shared.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(shared.dir, path)
		if d.IsDir() {
			if rel == "formats" {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != outputDigest {
		t.Fatalf("the simulator's output changed (digest %s): bump simulate.OutputVersion (now %d), so that benchmark caches are generated again, and set outputDigest to the new digest", got, OutputVersion)
	}
}
