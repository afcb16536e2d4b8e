package simulate

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

type obj = map[string]any

func rfc3339(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }

func tags(name string, extra ...string) []obj {
	out := []obj{{"Key": "Name", "Value": name}}
	for i := 0; i+1 < len(extra); i += 2 {
		out = append(out, obj{"Key": extra[i], "Value": extra[i+1]})
	}
	return out
}

// writeSideFiles writes the inventory, CloudTrail, GuardDuty and intel files.
func (p *plan) writeSideFiles(outDir string) (int, error) {
	n := 0
	inv := p.inventory()
	names := make([]string, 0, len(inv))
	for k := range inv {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := writeJSON(filepath.Join(outDir, "inventory", k+".json"), inv[k]); err != nil {
			return n, err
		}
		n++
	}
	m, err := p.writeCloudTrail(outDir)
	n += m
	if err != nil {
		return n, err
	}
	if err := writeJSON(filepath.Join(outDir, "guardduty", "findings.json"), obj{"Findings": p.guardDuty()}); err != nil {
		return n, err
	}
	n++
	if err := writeFile(filepath.Join(outDir, "intel", "blocklist.txt"), p.intel()); err != nil {
		return n, err
	}
	return n + 1, nil
}

func (p *plan) inventory() map[string]any {
	t := p.top
	acct := p.cfg.AccountID
	sgRef := func(g *SecurityGroup) obj { return obj{"GroupId": g.ID, "GroupName": g.Name} }
	perms := func(rules []*SGRule) []obj {
		out := []obj{}
		for _, rl := range rules {
			o := obj{"IpProtocol": rl.Proto, "IpRanges": []obj{}, "Ipv6Ranges": []obj{}, "PrefixListIds": []obj{}, "UserIdGroupPairs": []obj{}}
			if rl.Proto != "-1" {
				o["FromPort"], o["ToPort"] = rl.From, rl.To
			}
			for _, c := range rl.CIDRs {
				if strings.Contains(c, ":") {
					o["Ipv6Ranges"] = append(o["Ipv6Ranges"].([]obj), obj{"CidrIpv6": c, "Description": rl.Desc})
					continue
				}
				o["IpRanges"] = append(o["IpRanges"].([]obj), obj{"CidrIp": c, "Description": rl.Desc})
			}
			for _, g := range rl.Groups {
				o["UserIdGroupPairs"] = append(o["UserIdGroupPairs"].([]obj), obj{"UserId": acct, "GroupId": g.ID, "Description": rl.Desc})
			}
			out = append(out, o)
		}
		return out
	}
	var sgs []obj
	for _, g := range t.SGs {
		sgs = append(sgs, obj{"GroupId": g.ID, "GroupName": g.Name, "Description": g.Desc, "VpcId": g.VPC.ID, "OwnerId": acct,
			"IpPermissions": perms(g.Ingress), "IpPermissionsEgress": perms(g.Egress), "Tags": tags(g.Name),
			"SecurityGroupArn": fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", p.cfg.Region, acct, g.ID)})
	}
	var enis, reservations []obj
	for _, e := range t.ENIs {
		groups := []obj{}
		for _, g := range e.SGs {
			groups = append(groups, sgRef(g))
		}
		priv := obj{"Primary": true, "PrivateIpAddress": e.PrivateIP.String(), "PrivateDnsName": "ip-" + dashed(e.PrivateIP.String()) + ".ec2.internal"}
		o := obj{"NetworkInterfaceId": e.ID, "SubnetId": e.Subnet.ID, "VpcId": e.VPC.ID, "AvailabilityZone": e.Subnet.AZ,
			"Description": e.Description, "Groups": groups, "InterfaceType": e.Type, "OwnerId": acct,
			"PrivateIpAddress": e.PrivateIP.String(), "PrivateIpAddresses": []obj{priv}, "Ipv6Addresses": ipv6s(e),
			"MacAddress": mac(e.index), "SourceDestCheck": e.Type == "interface", "Status": "in-use",
			"RequesterManaged": e.InstanceID == "" && e.Type != "interface", "TagSet": tags(e.Name, "Role", string(e.Role))}
		if e.PublicIP.IsValid() {
			assoc := obj{"PublicIp": e.PublicIP.String(), "IpOwnerId": "amazon", "PublicDnsName": "ec2-" + dashed(e.PublicIP.String()) + ".compute-1.amazonaws.com"}
			o["Association"], priv["Association"] = assoc, assoc
		}
		if e.InstanceID != "" {
			o["Attachment"] = obj{"AttachmentId": "eni-attach-" + e.ID[4:], "DeviceIndex": 0, "InstanceId": e.InstanceID,
				"InstanceOwnerId": acct, "Status": "attached", "AttachTime": rfc3339(p.start - 86400*90)}
			state := "running"
			if e.Role == RoleIdle {
				state = "stopped"
			}
			inst := obj{"InstanceId": e.InstanceID, "InstanceType": instanceType(e.Role), "ImageId": "ami-0c7217cdde317cfec",
				"State": obj{"Name": state}, "PrivateIpAddress": e.PrivateIP.String(), "SubnetId": e.Subnet.ID, "VpcId": e.VPC.ID,
				"Placement": obj{"AvailabilityZone": e.Subnet.AZ}, "SecurityGroups": groups, "LaunchTime": rfc3339(p.start - 86400*90),
				"NetworkInterfaces": []obj{{"NetworkInterfaceId": e.ID, "PrivateIpAddress": e.PrivateIP.String(), "SubnetId": e.Subnet.ID, "VpcId": e.VPC.ID, "Groups": groups, "Ipv6Addresses": ipv6s(e)}},
				"Tags":              tags(e.Name, "Role", string(e.Role))}
			if e.PublicIP.IsValid() {
				inst["PublicIpAddress"] = e.PublicIP.String()
			}
			if e.IPv6.IsValid() {
				inst["Ipv6Address"] = e.IPv6.String()
			}
			reservations = append(reservations, obj{"ReservationId": "r-" + e.InstanceID[2:], "OwnerId": acct, "Instances": []obj{inst}})
		}
		enis = append(enis, o)
	}
	var acls, vpcs, subnets []obj
	for _, v := range t.VPCs {
		vo := obj{"VpcId": v.ID, "CidrBlock": v.CIDR.String(), "State": "available", "OwnerId": acct,
			"IsDefault": false, "Tags": tags(v.Name)}
		if v.CIDR6.IsValid() {
			vo["Ipv6CidrBlockAssociationSet"] = []obj{{"AssociationId": "vpc-cidr-assoc-" + v.ID[4:], "Ipv6CidrBlock": v.CIDR6.String(),
				"Ipv6CidrBlockState": obj{"State": "associated"}, "NetworkBorderGroup": p.cfg.Region, "Ipv6Pool": "Amazon"}}
		}
		vpcs = append(vpcs, vo)
		for _, s := range v.Subnets {
			so := obj{"SubnetId": s.ID, "VpcId": v.ID, "CidrBlock": s.CIDR.String(), "AvailabilityZone": s.AZ,
				"AvailabilityZoneId": s.AZID, "MapPublicIpOnLaunch": s.Public, "State": "available", "OwnerId": acct, "Tags": tags(s.Name),
				"AssignIpv6AddressOnCreation": s.CIDR6.IsValid()}
			if s.CIDR6.IsValid() {
				so["Ipv6CidrBlockAssociationSet"] = []obj{{"AssociationId": "subnet-cidr-assoc-" + s.ID[7:], "Ipv6CidrBlock": s.CIDR6.String(),
					"Ipv6CidrBlockState": obj{"State": "associated"}}}
			}
			subnets = append(subnets, so)
		}
		for _, a := range v.NACLs {
			entries := []obj{}
			for _, e := range a.Entries {
				action := "deny"
				if e.Allow {
					action = "allow"
				}
				o := obj{"RuleNumber": e.Rule, "Protocol": e.Protocol, "RuleAction": action, "Egress": e.Egress, "CidrBlock": e.CIDR}
				if strings.Contains(e.CIDR, ":") {
					delete(o, "CidrBlock")
					o["Ipv6CidrBlock"] = e.CIDR
				}
				if e.From != 0 || e.To != 0 {
					o["PortRange"] = obj{"From": e.From, "To": e.To}
				}
				entries = append(entries, o)
			}
			assocs := []obj{}
			for _, s := range a.Subnets {
				assocs = append(assocs, obj{"NetworkAclAssociationId": "aclassoc-" + s.ID[7:], "NetworkAclId": a.ID, "SubnetId": s.ID})
			}
			acls = append(acls, obj{"NetworkAclId": a.ID, "VpcId": v.ID, "OwnerId": acct, "IsDefault": a.IsDefault,
				"Associations": assocs, "Entries": entries, "Tags": []obj{}})
		}
	}
	return map[string]any{
		"describe-security-groups":    obj{"SecurityGroups": sgs},
		"describe-network-interfaces": obj{"NetworkInterfaces": enis},
		"describe-instances":          obj{"Reservations": reservations},
		"describe-network-acls":       obj{"NetworkAcls": acls},
		"describe-vpcs":               obj{"Vpcs": vpcs},
		"describe-subnets":            obj{"Subnets": subnets},
	}
}

func ipv6s(e *ENI) []obj {
	if !e.IPv6.IsValid() {
		return []obj{}
	}
	return []obj{{"Ipv6Address": e.IPv6.String(), "IsPrimaryIpv6": false}}
}

func ipv6List(e *ENI) []string {
	if !e.IPv6.IsValid() {
		return []string{}
	}
	return []string{e.IPv6.String()}
}

func dashed(ip string) string {
	b := []byte(ip)
	for i, c := range b {
		if c == '.' {
			b[i] = '-'
		}
	}
	return string(b)
}

func mac(i int) string { return fmt.Sprintf("0e:4f:%02x:%02x:1a:%02x", i/256, i%256, (i*37)%256) }

func instanceType(r Role) string {
	switch r {
	case RoleDB, RoleLegacyDB:
		return "r6i.xlarge"
	case RoleApp, RoleAnalytics:
		return "m6i.large"
	default:
		return "t3.medium"
	}
}

// ctEvent is one CloudTrail record and when it happened.
type ctEvent struct {
	at  int64
	rec obj
}

func (p *plan) ctRecord(r *rand.Rand, at int64, name, source, user, ip string, readOnly bool, req, resp any) ctEvent {
	acct := p.cfg.AccountID
	rec := obj{"eventVersion": "1.09", "eventTime": rfc3339(at), "eventSource": source, "eventName": name,
		"awsRegion": p.cfg.Region, "sourceIPAddress": ip, "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.1",
		"userIdentity": obj{"type": "IAMUser", "principalId": "AIDA" + upperID(r, 17), "arn": "arn:aws:iam::" + acct + ":user/" + user,
			"accountId": acct, "accessKeyId": "AKIA" + upperID(r, 16), "userName": user},
		"requestParameters": req, "responseElements": resp, "requestID": uuid(r), "eventID": uuid(r),
		"readOnly": readOnly, "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": acct,
		"eventCategory": "Management"}
	return ctEvent{at: at, rec: rec}
}

func upperID(r *rand.Rand, n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[r.IntN(len(chars))]
	}
	return string(b)
}

// writeCloudTrail writes the story's API calls among ordinary background
// calls, one gzip object per 15 minutes that has events.
func (p *plan) writeCloudTrail(outDir string) (int, error) {
	r := rand.New(rand.NewPCG(p.cfg.Seed, 0xc10d7a11))
	t := p.top
	var evs []ctEvent
	admin := p.admins[0].String()
	readOnly := []string{"DescribeInstances", "DescribeSecurityGroups", "DescribeNetworkInterfaces", "DescribeVpcs", "DescribeSubnets"}
	for at := p.start + r.Int64N(900); at < p.end; at += 300 + r.Int64N(1500) {
		name := readOnly[r.IntN(len(readOnly))]
		evs = append(evs, p.ctRecord(r, at, name, "ec2.amazonaws.com", "ops-automation", admin, true, obj{}, nil))
	}
	// The exposure: MySQL opened to the world.
	rl := t.ExposedRule
	ex := p.ctRecord(r, p.exposeAt, "AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", "dev-contractor", p.admins[1].String(), false,
		obj{"groupId": t.LegacySG.ID, "ipPermissions": obj{"items": []obj{{"ipProtocol": "tcp", "fromPort": 3306, "toPort": 3306,
			"groups": obj{}, "ipRanges": obj{"items": []obj{{"cidrIp": "0.0.0.0/0", "description": rl.Desc}}},
			"ipv6Ranges": obj{}, "prefixListIds": obj{}}}}},
		obj{"requestId": uuid(r), "_return": true, "securityGroupRuleSet": obj{"items": []obj{{"groupOwnerId": p.cfg.AccountID,
			"groupId": t.LegacySG.ID, "securityGroupRuleId": rl.RuleID, "isEgress": false, "ipProtocol": "tcp",
			"fromPort": 3306, "toPort": 3306, "cidrIpv4": "0.0.0.0/0", "description": rl.Desc,
			"securityGroupRuleArn": fmt.Sprintf("arn:aws:ec2:%s:%s:security-group-rule/%s", p.cfg.Region, p.cfg.AccountID, rl.RuleID)}}}})
	ex.rec["eventID"] = p.exposeEventID
	evs = append(evs, ex)
	// The logging gap: flow log deleted, re-created.
	var gapActor string
	for _, a := range p.attacks {
		if a.Class == ClassLoggingGap {
			gapActor = a.Actors[0]
		}
	}
	prod := t.VPCs[0]
	evs = append(evs, p.ctRecord(r, p.gapStart, "DeleteFlowLogs", "ec2.amazonaws.com", "svc-deploy", gapActor, false,
		obj{"DeleteFlowLogsRequest": obj{"FlowLogId": obj{"content": prod.FlowLogID, "tag": 1}}},
		obj{"DeleteFlowLogsResponse": obj{"xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/", "requestId": uuid(r), "unsuccessful": ""}}))
	evs = append(evs, p.ctRecord(r, p.gapEnd-30, "CreateFlowLogs", "ec2.amazonaws.com", "svc-deploy", gapActor, false,
		obj{"CreateFlowLogsRequest": obj{"ResourceId": obj{"content": prod.ID, "tag": 1}, "ResourceType": "VPC", "TrafficType": "ALL",
			"LogDestinationType": "s3", "LogDestination": "arn:aws:s3:::flowhunt-flow-logs-" + p.cfg.AccountID,
			"LogFormat": prod.Layout.LogFormat(), "MaxAggregationInterval": prod.Interval}},
		obj{"CreateFlowLogsResponse": obj{"requestId": uuid(r), "flowLogIdSet": obj{"item": p.newFlowLogID}, "unsuccessful": ""}}))
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })

	files := 0
	zw := gzip.NewWriter(nil)
	for i := 0; i < len(evs); {
		bucket := evs[i].at - evs[i].at%900
		j := i
		var recs []obj
		for j < len(evs) && evs[j].at-evs[j].at%900 == bucket {
			recs = append(recs, evs[j].rec)
			j++
		}
		i = j
		ts := time.Unix(bucket+900, 0).UTC()
		name := fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", p.cfg.AccountID, p.cfg.Region, ts.Format("20060102T1504Z"), upperID(r, 16))
		path := filepath.Join(outDir, "cloudtrail", "AWSLogs", p.cfg.AccountID, "CloudTrail", p.cfg.Region, ts.Format("2006/01/02"), name)
		var buf bytes.Buffer
		if err := jsonTo(&buf, obj{"Records": recs}); err != nil {
			return files, err
		}
		if err := writeFile(path, nil); err != nil {
			return files, err
		}
		if _, err := writeGzip(zw, path, buf.Bytes()); err != nil {
			return files, err
		}
		files++
	}
	return files, nil
}

// guardDuty returns findings for the attacks GuardDuty would report, in the
// shape of `aws guardduty get-findings`.
func (p *plan) guardDuty() []obj {
	r := rand.New(rand.NewPCG(p.cfg.Seed, 0x6d))
	detector := fmt.Sprintf("%032x", r.Uint64())[:32]
	out := []obj{}
	for _, s := range p.stories {
		if s.gdType == "" {
			continue
		}
		e := s.eni
		id := fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64())
		groups := []obj{}
		for _, g := range e.SGs {
			groups = append(groups, obj{"GroupId": g.ID, "GroupName": g.Name})
		}
		ni := obj{"NetworkInterfaceId": e.ID, "PrivateIpAddress": e.PrivateIP.String(),
			"PrivateIpAddresses": []obj{{"PrivateIpAddress": e.PrivateIP.String()}}, "Ipv6Addresses": ipv6List(e),
			"SubnetId": e.Subnet.ID, "VpcId": e.VPC.ID, "SecurityGroups": groups}
		if e.PublicIP.IsValid() {
			ni["PublicIp"] = e.PublicIP.String()
		}
		remote := obj{"IpAddressV4": s.remote.String(), "Organization": obj{"Asn": strconv.Itoa(10000 + r.IntN(50000)), "AsnOrg": "HOSTING-NET", "Isp": "Hosting Net", "Org": "Hosting Net"},
			"Country": obj{"CountryName": "Netherlands"}, "City": obj{"CityName": "Amsterdam"}, "GeoLocation": obj{"Lat": 52.37, "Lon": 4.89}}
		action := obj{}
		switch {
		case s.gdType == "Recon:EC2/PortProbeUnprotectedPort":
			action = obj{"ActionType": "PORT_PROBE", "PortProbeAction": obj{"Blocked": false, "PortProbeDetails": []obj{{
				"LocalPortDetails": obj{"Port": s.port, "PortName": portName(s.port)},
				"LocalIpDetails":   obj{"IpAddressV4": e.PrivateIP.String()}, "RemoteIpDetails": remote}}}}
		default:
			dir := "OUTBOUND"
			if s.gdRole == "TARGET" {
				dir = "INBOUND"
			}
			proto := "TCP"
			if s.gdType == "Backdoor:EC2/DenialOfService.Udp" {
				proto = "UDP"
			}
			action = obj{"ActionType": "NETWORK_CONNECTION", "NetworkConnectionAction": obj{"ConnectionDirection": dir,
				"Protocol": proto, "Blocked": false, "LocalNetworkInterface": e.ID,
				"LocalIpDetails": obj{"IpAddressV4": e.PrivateIP.String()}, "RemoteIpDetails": remote,
				"LocalPortDetails":  obj{"Port": 32768 + r.IntN(28000), "PortName": "Unknown"},
				"RemotePortDetails": obj{"Port": s.port, "PortName": portName(s.port)}}}
			if dir == "INBOUND" {
				nca := action["NetworkConnectionAction"].(obj)
				nca["LocalPortDetails"] = obj{"Port": s.port, "PortName": portName(s.port)}
				nca["RemotePortDetails"] = obj{"Port": 1024 + r.IntN(60000), "PortName": "Unknown"}
			}
		}
		created := s.last + 600
		out = append(out, obj{"SchemaVersion": "2.0", "AccountId": p.cfg.AccountID, "Region": p.cfg.Region, "Partition": "aws",
			"Id": id, "Arn": fmt.Sprintf("arn:aws:guardduty:%s:%s:detector/%s/finding/%s", p.cfg.Region, p.cfg.AccountID, detector, id),
			"Type": s.gdType, "Severity": s.severity, "CreatedAt": rfc3339(created), "UpdatedAt": rfc3339(created),
			"Title":       gdTitle(s.gdType, e),
			"Description": gdTitle(s.gdType, e) + " Remote address " + s.remote.String() + ".",
			"Resource": obj{"ResourceType": "Instance", "InstanceDetails": obj{"InstanceId": e.InstanceID, "InstanceState": "running",
				"ImageId": "ami-0c7217cdde317cfec", "AvailabilityZone": e.Subnet.AZ, "NetworkInterfaces": []obj{ni},
				"Tags": tags(e.Name, "Role", string(e.Role))}},
			"Service": obj{"ServiceName": "guardduty", "DetectorId": detector, "ResourceRole": s.gdRole, "Action": action,
				"EventFirstSeen": rfc3339(s.first), "EventLastSeen": rfc3339(s.last), "Count": s.count, "Archived": false,
				"FeatureName": "FlowLogs", "AdditionalInfo": obj{"Value": "{}", "Type": "default"}}})
	}
	return out
}

func portName(p int32) string {
	switch p {
	case 22:
		return "SSH"
	case 443:
		return "HTTPS"
	case 80:
		return "HTTP"
	case 3306:
		return "MYSQL"
	}
	return "Unknown"
}

func gdTitle(typ string, e *ENI) string {
	switch typ {
	case "UnauthorizedAccess:EC2/SSHBruteForce":
		return "SSH brute force attacks against " + e.InstanceID + "."
	case "Backdoor:EC2/C&CActivity.B":
		return "EC2 instance " + e.InstanceID + " is querying an IP address that is associated with a known command and control server."
	case "CryptoCurrency:EC2/BitcoinTool.B":
		return "EC2 instance " + e.InstanceID + " is communicating with a Bitcoin mining pool."
	case "Backdoor:EC2/DenialOfService.Udp":
		return "EC2 instance " + e.InstanceID + " is behaving in a manner that may indicate it is being used to perform a Denial of Service (DoS) attack using UDP protocol."
	default:
		return "Unprotected port on EC2 instance " + e.InstanceID + " is being probed."
	}
}

// intel returns the blocklist: the listed attack addresses among unrelated
// entries, as threat feeds mix them.
func (p *plan) intel() []byte {
	r := rand.New(rand.NewPCG(p.cfg.Seed, 0x1a7e1))
	ips := newIPPool(r)
	var b []byte
	b = append(b, "# flowhunt simulated threat-intel blocklist\n# one IP or CIDR per line\n"...)
	lines := append([]string{}, p.blocklist...)
	for i := 0; i < 40; i++ {
		lines = append(lines, ips.external().String())
	}
	for i := 0; i < 6; i++ {
		a := ips.external().As4()
		lines = append(lines, fmt.Sprintf("%d.%d.%d.0/24", a[0], a[1], a[2]))
	}
	r.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	for _, l := range lines {
		b = append(b, l...)
		b = append(b, '\n')
	}
	return b
}
