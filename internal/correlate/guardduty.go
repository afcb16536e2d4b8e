package correlate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

// GuardDutyFinding is a GuardDuty finding reduced to what joins it to flows.
type GuardDutyFinding struct {
	ID, Type, Title, Account, Region string
	Severity                         float64
	Created, Updated                 time.Time
	FirstSeen, LastSeen              time.Time
	InstanceID, ENI, LocalIP         string
	RemoteIP, RemoteCountry          string
	RemoteOrg                        string
	LocalPort, RemotePort            int
	Protocol, Direction              string // direction: INBOUND | OUTBOUND | UNKNOWN
	ResourceRole, ActionType         string // ACTOR | TARGET; NETWORK_CONNECTION | PORT_PROBE | …
	Count                            int64
	Archived                         bool
	Object                           string
}

// GuardDutyTable is the side table of GuardDuty findings.
const GuardDutyTable = "guardduty"

// GuardDutyColumns are the columns of GuardDutyTable.
func GuardDutyColumns() []store.Column {
	c := func(n, t string) store.Column { return store.Column{Name: n, Type: t} }
	return []store.Column{
		c("id", "VARCHAR"), c("type", "VARCHAR"), c("title", "VARCHAR"), c("severity", "DOUBLE"),
		c("account_id", "VARCHAR"), c("region", "VARCHAR"), c("created_at", "TIMESTAMP"), c("updated_at", "TIMESTAMP"),
		c("first_seen", "TIMESTAMP"), c("last_seen", "TIMESTAMP"), c("instance_id", "VARCHAR"), c("interface_id", "VARCHAR"),
		c("local_ip", "VARCHAR"), c("local_port", "INTEGER"), c("remote_ip", "VARCHAR"), c("remote_port", "INTEGER"),
		c("remote_country", "VARCHAR"), c("remote_org", "VARCHAR"), c("protocol", "VARCHAR"), c("direction", "VARCHAR"),
		c("resource_role", "VARCHAR"), c("action_type", "VARCHAR"), c("count", "BIGINT"), c("archived", "BOOLEAN"),
		c("source_object", "VARCHAR"),
	}
}

// Row returns the finding as a row of GuardDutyColumns.
func (g *GuardDutyFinding) Row() []any {
	t := func(x time.Time) any {
		if x.IsZero() {
			return nil
		}
		return x.UTC()
	}
	s := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	return []any{g.ID, g.Type, g.Title, g.Severity, g.Account, g.Region, t(g.Created), t(g.Updated),
		t(g.FirstSeen), t(g.LastSeen), s(g.InstanceID), s(g.ENI), s(g.LocalIP), int32(g.LocalPort), s(g.RemoteIP),
		int32(g.RemotePort), s(g.RemoteCountry), s(g.RemoteOrg), s(g.Protocol), s(g.Direction),
		s(g.ResourceRole), s(g.ActionType), g.Count, g.Archived, g.Object}
}

// gdRaw is GuardDuty's finding JSON (get-findings, console export and
// EventBridge share it; field names are camelCase).
type gdRaw struct {
	ID, Type, Title, AccountID, Region string
	Severity                           float64
	CreatedAt, UpdatedAt               string
	Resource                           struct {
		InstanceDetails struct {
			InstanceID        string `json:"instanceId"`
			NetworkInterfaces []struct {
				NetworkInterfaceID string `json:"networkInterfaceId"`
				PrivateIPAddress   string `json:"privateIpAddress"`
				PublicIP           string `json:"publicIp"`
			} `json:"networkInterfaces"`
		} `json:"instanceDetails"`
	}
	Service struct {
		ResourceRole   string `json:"resourceRole"`
		EventFirstSeen string `json:"eventFirstSeen"`
		EventLastSeen  string `json:"eventLastSeen"`
		Count          int64  `json:"count"`
		Archived       bool   `json:"archived"`
		Action         struct {
			ActionType              string `json:"actionType"`
			NetworkConnectionAction *struct {
				ConnectionDirection   string     `json:"connectionDirection"`
				Protocol              string     `json:"protocol"`
				LocalNetworkInterface string     `json:"localNetworkInterface"`
				LocalPortDetails      gdPort     `json:"localPortDetails"`
				RemotePortDetails     gdPort     `json:"remotePortDetails"`
				LocalIPDetails        gdIP       `json:"localIpDetails"`
				RemoteIPDetails       gdRemoteIP `json:"remoteIpDetails"`
			} `json:"networkConnectionAction"`
			PortProbeAction *struct {
				PortProbeDetails []struct {
					LocalPortDetails gdPort     `json:"localPortDetails"`
					LocalIPDetails   gdIP       `json:"localIpDetails"`
					RemoteIPDetails  gdRemoteIP `json:"remoteIpDetails"`
				} `json:"portProbeDetails"`
			} `json:"portProbeAction"`
		} `json:"action"`
	} `json:"service"`
}

type gdPort struct {
	Port int `json:"port"`
}

type gdIP struct {
	V4 string `json:"ipAddressV4"`
	V6 string `json:"ipAddressV6"`
}

type gdRemoteIP struct {
	V4           string `json:"ipAddressV4"`
	V6           string `json:"ipAddressV6"`
	Organization struct {
		ASN    string `json:"asn"`
		ASNOrg string `json:"asnOrg"`
		Org    string `json:"org"`
	} `json:"organization"`
	Country struct {
		CountryName string `json:"countryName"`
	} `json:"country"`
}

// ParseGuardDuty reads GuardDuty findings in any of their exported shapes:
// a JSON array, `aws guardduty get-findings` output ({"Findings":[…]}), an
// EventBridge event (finding in "detail", or in "detail.findings"), or
// JSON lines of those; gzip is detected.
func ParseGuardDuty(r io.Reader, name string) ([]GuardDutyFinding, error) {
	rd, err := openMaybeGzip(r, name)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(rd)
	var out []GuardDutyFinding
	for n := 1; ; n++ {
		var doc json.RawMessage
		if err := dec.Decode(&doc); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("cannot parse guardduty %s: document %d: %w", name, n, err)
		}
		raws, err := findingsOf(doc)
		if err != nil {
			return nil, fmt.Errorf("cannot parse guardduty %s: document %d: %w", name, n, err)
		}
		for i, raw := range raws {
			g, err := convertFinding(raw)
			if err != nil {
				return nil, fmt.Errorf("cannot parse guardduty %s: document %d finding %d: %w", name, n, i, err)
			}
			g.Object = name
			out = append(out, g)
		}
	}
	return out, nil
}

func findingsOf(doc json.RawMessage) ([]json.RawMessage, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) > 0 && doc[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(doc, &arr); err != nil {
			return nil, err
		}
		var out []json.RawMessage
		for _, a := range arr {
			sub, err := findingsOf(a)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		}
		return out, nil
	}
	var env struct {
		Findings []json.RawMessage `json:"Findings"`
		Detail   json.RawMessage   `json:"detail"`
		Type     string            `json:"type"`
	}
	if err := json.Unmarshal(doc, &env); err != nil {
		return nil, err
	}
	switch {
	case env.Findings != nil:
		return env.Findings, nil
	case len(env.Detail) > 0:
		var inner struct {
			Findings []json.RawMessage `json:"findings"`
		}
		if err := json.Unmarshal(env.Detail, &inner); err == nil && inner.Findings != nil {
			return inner.Findings, nil
		}
		return []json.RawMessage{env.Detail}, nil
	case env.Type != "":
		return []json.RawMessage{doc}, nil
	}
	return nil, fmt.Errorf("not a GuardDuty finding, list or event: %q", cutBytes(doc, 80))
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func convertFinding(raw json.RawMessage) (GuardDutyFinding, error) {
	var f gdRaw
	if err := json.Unmarshal(raw, &f); err != nil {
		return GuardDutyFinding{}, err
	}
	g := GuardDutyFinding{ID: f.ID, Type: f.Type, Title: f.Title, Account: f.AccountID, Region: f.Region,
		Severity: f.Severity, Created: parseTime(f.CreatedAt), Updated: parseTime(f.UpdatedAt),
		FirstSeen: parseTime(f.Service.EventFirstSeen), LastSeen: parseTime(f.Service.EventLastSeen),
		InstanceID: f.Resource.InstanceDetails.InstanceID, ResourceRole: f.Service.ResourceRole,
		ActionType: f.Service.Action.ActionType, Count: f.Service.Count, Archived: f.Service.Archived}
	if g.ID == "" || g.Type == "" {
		return g, fmt.Errorf("finding without id or type: %q", cutBytes(raw, 80))
	}
	if nics := f.Resource.InstanceDetails.NetworkInterfaces; len(nics) > 0 {
		g.ENI, g.LocalIP = nics[0].NetworkInterfaceID, nics[0].PrivateIPAddress
	}
	remote := func(r gdRemoteIP) {
		g.RemoteIP = r.V4
		if g.RemoteIP == "" {
			g.RemoteIP = r.V6
		}
		g.RemoteCountry = r.Country.CountryName
		g.RemoteOrg = r.Organization.ASNOrg
		if g.RemoteOrg == "" {
			g.RemoteOrg = r.Organization.Org
		}
		if r.Organization.ASN != "" && r.Organization.ASN != "-1" {
			if _, err := strconv.Atoi(r.Organization.ASN); err == nil {
				g.RemoteOrg = "AS" + r.Organization.ASN + " " + g.RemoteOrg
			}
		}
	}
	if nc := f.Service.Action.NetworkConnectionAction; nc != nil {
		g.Direction, g.Protocol = nc.ConnectionDirection, nc.Protocol
		g.LocalPort, g.RemotePort = nc.LocalPortDetails.Port, nc.RemotePortDetails.Port
		if nc.LocalNetworkInterface != "" {
			g.ENI = nc.LocalNetworkInterface
		}
		if nc.LocalIPDetails.V4 != "" {
			g.LocalIP = nc.LocalIPDetails.V4
		}
		remote(nc.RemoteIPDetails)
	}
	if pp := f.Service.Action.PortProbeAction; pp != nil && len(pp.PortProbeDetails) > 0 {
		d := pp.PortProbeDetails[0]
		g.Direction, g.LocalPort = "INBOUND", d.LocalPortDetails.Port
		if d.LocalIPDetails.V4 != "" {
			g.LocalIP = d.LocalIPDetails.V4
		}
		remote(d.RemoteIPDetails)
	}
	return g, nil
}
