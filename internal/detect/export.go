package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

// WriteJSONL writes one finding per line.
func WriteJSONL(w io.Writer, fs []Finding) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // the SQL's < and > stay readable
	for i := range fs {
		if err := enc.Encode(&fs[i]); err != nil {
			return fmt.Errorf("cannot write finding %s: %w", fs[i].ID, err)
		}
	}
	return nil
}

// OCSF returns a finding as an OCSF 1.1 Detection Finding (class 2004).
func OCSF(f *Finding) map[string]any {
	status := map[Status]int{StatusOpen: 1, StatusAcknowledged: 2, StatusFalsePositive: 3, StatusResolved: 4}[f.Status]
	if f.Suppressed != "" {
		status = 3
	}
	var attacks []map[string]any
	for _, m := range f.MITRE {
		attacks = append(attacks, map[string]any{"technique": map[string]any{"uid": m}, "version": "v15"})
	}
	var obs []map[string]any
	addIP := func(name, v string) {
		if _, err := netip.ParseAddr(v); err == nil {
			obs = append(obs, map[string]any{"name": name, "type": "IP Address", "type_id": 2, "value": v})
		}
	}
	addIP("entity", f.Entity.Value)
	for _, c := range f.Counterparts {
		addIP("counterpart", c)
	}
	activity := 1
	if !f.Created.IsZero() && f.Updated.After(f.Created) {
		activity = 2
	}
	t := f.Updated
	if t.IsZero() {
		t = f.LastSeen
	}
	return map[string]any{
		"class_uid":     2004,
		"class_name":    "Detection Finding",
		"category_uid":  2,
		"category_name": "Findings",
		"activity_id":   activity,
		"type_uid":      200400 + activity,
		"severity_id":   int(f.Severity) + 1,
		"severity":      titleCase(f.Severity.String()),
		"status_id":     status,
		"time":          t.UnixMilli(),
		"message":       f.Title,
		"risk_score":    int(f.Score),
		"metadata": map[string]any{
			"version": "1.1.0",
			"product": map[string]any{"name": "flowhunt", "vendor_name": "flowhunt"},
		},
		"finding_info": map[string]any{
			"uid":             f.ID,
			"title":           f.Title,
			"desc":            firstNonEmpty(f.Description, f.Title),
			"types":           []string{f.Detector},
			"first_seen_time": f.FirstSeen.UnixMilli(),
			"last_seen_time":  f.LastSeen.UnixMilli(),
			"analytic":        map[string]any{"name": f.Detector, "type_id": 1, "type": "Rule"},
			"attacks":         attacks,
		},
		"attacks":     attacks,
		"observables": obs,
		"resources":   []map[string]any{{"uid": f.Entity.Value, "type": f.Entity.Kind}},
		"evidences":   []map[string]any{{"data": map[string]any{"evidence": f.Evidence, "sql": f.SQL}}},
		"unmapped":    map[string]any{"counterparts": f.Counterparts, "ports": f.Ports, "suppressed": f.Suppressed},
	}
}

// ASFFOptions name the account and region findings are imported into.
type ASFFOptions struct {
	AccountID string // 12 digits
	Region    string
}

// ASFF returns a finding in the AWS Security Finding Format with every
// field BatchImportFindings requires.
func ASFF(f *Finding, o ASFFOptions) map[string]any {
	label := strings.ToUpper(f.Severity.String())
	if f.Severity == Info {
		label = "INFORMATIONAL"
	}
	workflow := map[Status]string{StatusOpen: "NEW", StatusAcknowledged: "NOTIFIED", StatusFalsePositive: "SUPPRESSED", StatusResolved: "RESOLVED"}[f.Status]
	if f.Suppressed != "" {
		workflow = "SUPPRESSED"
	}
	created := f.Created
	if created.IsZero() {
		created = f.LastSeen
	}
	updated := f.Updated
	if updated.IsZero() || updated.Before(created) {
		updated = created
	}
	res := map[string]any{"Type": "Other", "Id": f.Entity.Value}
	switch f.Entity.Kind {
	case EntityENI:
		res["Type"] = "AwsEc2NetworkInterface"
	case EntityInstance:
		res["Type"] = "AwsEc2Instance"
	case EntityIP:
		res["Id"] = "ip/" + f.Entity.Value
	}
	out := map[string]any{
		"SchemaVersion":   "2018-10-08",
		"Id":              f.ID,
		"ProductArn":      fmt.Sprintf("arn:aws:securityhub:%s:%s:product/%s/default", o.Region, o.AccountID, o.AccountID),
		"GeneratorId":     "flowhunt/" + f.Detector,
		"AwsAccountId":    o.AccountID,
		"Types":           []string{asffType(f)},
		"CreatedAt":       created.UTC().Format(time.RFC3339),
		"UpdatedAt":       updated.UTC().Format(time.RFC3339),
		"FirstObservedAt": f.FirstSeen.Format(time.RFC3339),
		"LastObservedAt":  f.LastSeen.Format(time.RFC3339),
		"Severity":        map[string]any{"Label": label},
		"Title":           cutRunes(f.Title, 256),
		"Description":     cutRunes(firstNonEmpty(f.Description, f.Title)+"\nReproduce: "+f.SQL, 1024),
		"Resources":       []map[string]any{res},
		"Workflow":        map[string]any{"Status": workflow},
		"RecordState":     "ACTIVE",
		"ProductFields":   map[string]string{"flowhunt/detector": f.Detector, "flowhunt/score": fmt.Sprint(f.Score)},
	}
	if a, err := netip.ParseAddr(f.Entity.Value); err == nil {
		nw := map[string]any{}
		// The entity is the source, except for detectors centred on the
		// victim (the counterparts are then the sources).
		self, peer := "Source", "Destination"
		if f.Detector == "exposed_port" || f.Detector == "dos_inbound" {
			self, peer = peer, self
		}
		setIP := func(side string, ip netip.Addr) {
			if ip.Is4() {
				nw[side+"IpV4"] = ip.String()
			} else {
				nw[side+"IpV6"] = ip.String()
			}
		}
		setIP(self, a)
		if len(f.Counterparts) > 0 {
			if c, err := netip.ParseAddr(f.Counterparts[0]); err == nil {
				setIP(peer, c)
			}
		}
		if len(f.Ports) > 0 {
			nw["DestinationPort"] = f.Ports[0]
		}
		out["Network"] = nw
	}
	return out
}

// asffType maps the detector's first technique onto Security Hub's
// namespace/category/classifier taxonomy.
func asffType(f *Finding) string {
	switch f.Detector {
	case "port_scan_vertical", "port_scan_horizontal", "rejected_inbound", "exposed_port":
		return "TTPs/Discovery/Network Service Discovery"
	case "brute_force":
		return "TTPs/Credential Access/Brute Force"
	case "lateral_movement":
		return "TTPs/Lateral Movement/Remote Services"
	case "exfiltration":
		return "Effects/Data Exfiltration"
	case "beaconing", "long_connection", "threat_intel", "unusual_port":
		return "TTPs/Command and Control/Application Layer Protocol"
	case "cryptomining":
		return "Effects/Resource Consumption/Cryptomining"
	case "dos_inbound", "dos_outbound":
		return "Effects/Denial of Service"
	case "dns_external_resolver":
		return "TTPs/Defense Evasion/Unusual DNS Resolver"
	case "logging_gap":
		return "TTPs/Defense Evasion/Impair Defenses"
	}
	return "Unusual Behaviors/Network Flow"
}

// PostWebhook posts findings as a JSON array to url, in batches of 100.
func PostWebhook(ctx context.Context, c *http.Client, url string, fs []Finding) error {
	for i := 0; i < len(fs); i += 100 {
		batch := fs[i:min(i+100, len(fs))]
		b, err := json.Marshal(batch)
		if err != nil {
			return fmt.Errorf("cannot encode findings for webhook: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("cannot post findings to webhook %q: %w", cut(url, 80), err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return fmt.Errorf("cannot post findings to webhook %q: %w", cut(url, 80), err)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("cannot post findings to webhook %q: status %s", cut(url, 80), resp.Status)
		}
	}
	return nil
}

// FindingColumns and FindingRows shape findings for the store's PutTable,
// so SQL can join a "findings" table with vpc_flow_logs.
func FindingColumns() []store.Column {
	return []store.Column{
		{Name: "id", Type: "VARCHAR"}, {Name: "detector", Type: "VARCHAR"}, {Name: "title", Type: "VARCHAR"},
		{Name: "severity", Type: "VARCHAR"}, {Name: "score", Type: "DOUBLE"}, {Name: "entity_kind", Type: "VARCHAR"},
		{Name: "entity", Type: "VARCHAR"}, {Name: "counterparts", Type: "VARCHAR"}, {Name: "ports", Type: "VARCHAR"},
		{Name: "mitre", Type: "VARCHAR"}, {Name: "first_seen", Type: "TIMESTAMP"}, {Name: "last_seen", Type: "TIMESTAMP"},
		{Name: "status", Type: "VARCHAR"}, {Name: "suppressed", Type: "VARCHAR"}, {Name: "sql", Type: "VARCHAR"},
	}
}

// FindingRows returns one row per finding in FindingColumns order.
func FindingRows(fs []Finding) [][]any {
	out := make([][]any, len(fs))
	for i, f := range fs {
		ports := make([]string, len(f.Ports))
		for j, p := range f.Ports {
			ports[j] = fmt.Sprint(p)
		}
		out[i] = []any{f.ID, f.Detector, f.Title, f.Severity.String(), f.Score, f.Entity.Kind, f.Entity.Value,
			strings.Join(f.Counterparts, ","), strings.Join(ports, ","), strings.Join(f.MITRE, ","),
			f.FirstSeen, f.LastSeen, string(f.Status), f.Suppressed, f.SQL}
	}
	return out
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func cutRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
