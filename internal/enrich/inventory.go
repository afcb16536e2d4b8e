// Package enrich gives flows and findings their context: the AWS inventory
// (ENIs, instances, subnets, VPCs, security groups, network ACLs) loaded from
// `aws ec2 describe-*` JSON or live, geo and ASN from MaxMind databases, and
// threat-intel lists matched with a prefix table.
package enrich

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Protocol numbers used by rules. AnyProtocol matches every protocol.
const (
	AnyProtocol = -1
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// SGRule is one rule of a security group with a single peer, the way AWS's
// SecurityGroupRule API models it: an IpPermission with two CIDRs becomes
// two rules.
type SGRule struct {
	ID          string // "<group>:in:<n>" or "<group>:out:<n>", stable for one inventory
	GroupID     string
	Egress      bool
	Protocol    int // AnyProtocol, or an IANA number
	FromPort    int // -1 when the rule covers every port (or every ICMP type)
	ToPort      int
	CIDR        netip.Prefix // valid when the peer is a CIDR
	PrefixList  string       // set when the peer is a managed prefix list
	PeerGroup   string       // set when the peer is a security group
	Description string
}

// Open reports whether the rule admits the whole Internet (0.0.0.0/0 or ::/0).
func (r *SGRule) Open() bool { return r.CIDR.IsValid() && r.CIDR.Bits() == 0 }

// Peer names the rule's peer for display.
func (r *SGRule) Peer() string {
	switch {
	case r.CIDR.IsValid():
		return r.CIDR.String()
	case r.PrefixList != "":
		return r.PrefixList
	default:
		return r.PeerGroup
	}
}

// PortText shows the rule's protocol and ports ("tcp/22", "udp/1000-2000", "all").
func (r *SGRule) PortText() string { return PortText(r.Protocol, r.FromPort, r.ToPort) }

// PortText formats a protocol and port range.
func PortText(proto, from, to int) string {
	p := ProtoName(proto)
	if proto == AnyProtocol {
		return p
	}
	if from < 0 || (from == 0 && to == 65535) {
		return p + "/all"
	}
	if from == to {
		return p + "/" + strconv.Itoa(from)
	}
	return p + "/" + strconv.Itoa(from) + "-" + strconv.Itoa(to)
}

// ProtoName names an IANA protocol number.
func ProtoName(p int) string {
	switch p {
	case AnyProtocol:
		return "all"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "icmpv6"
	}
	return strconv.Itoa(p)
}

// ParseProtocol reads AWS's protocol spellings: "tcp", "udp", "icmp",
// "icmpv6", "-1", "all" or a number.
func ParseProtocol(s string) (int, error) {
	switch strings.ToLower(s) {
	case "-1", "all", "":
		return AnyProtocol, nil
	case "tcp":
		return ProtoTCP, nil
	case "udp":
		return ProtoUDP, nil
	case "icmp":
		return ProtoICMP, nil
	case "icmpv6":
		return ProtoICMPv6, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -1 || n > 255 {
		return 0, fmt.Errorf("cannot parse protocol %q: not a name or number 0-255", s)
	}
	return n, nil
}

// SecurityGroup is a group and its rules.
type SecurityGroup struct {
	ID, Name, Description, VPCID string
	Tags                         map[string]string
	Rules                        []SGRule // ingress then egress, in API order
}

// NACLEntry is one entry of a network ACL.
type NACLEntry struct {
	RuleNumber int // 32767 is the default '*' rule
	Egress     bool
	Allow      bool
	Protocol   int
	CIDR       netip.Prefix
	FromPort   int // 0..65535 when the entry has no port range
	ToPort     int
}

// RuleText shows the rule number the way the console does ('*' for 32767).
func (e *NACLEntry) RuleText() string {
	if e.RuleNumber >= 32767 {
		return "*"
	}
	return strconv.Itoa(e.RuleNumber)
}

// NetworkACL is a network ACL, its entries sorted by direction and rule number.
type NetworkACL struct {
	ID, VPCID string
	IsDefault bool
	Subnets   []string
	Tags      map[string]string
	Entries   []NACLEntry
}

// ENI is a network interface with its addresses and groups.
type ENI struct {
	ID, SubnetID, VPCID, InstanceID, Description, Type string
	Addrs                                              []netip.Addr // private v4, secondary v4, v6
	PublicAddrs                                        []netip.Addr
	Groups                                             []string
	Tags                                               map[string]string
}

// Instance is an EC2 instance.
type Instance struct {
	ID, SubnetID, VPCID, Name string
	Tags                      map[string]string
	ENIs                      []string
	Groups                    []string
}

// Subnet is a subnet and its CIDRs.
type Subnet struct {
	ID, VPCID, AZ, Name string
	CIDRs               []netip.Prefix
	Tags                map[string]string
}

// VPC is a VPC and its CIDRs.
type VPC struct {
	ID, Name string
	CIDRs    []netip.Prefix
	Tags     map[string]string
}

// Inventory is what describe-* says about an account: build it with
// LoadInventoryDir, LoadInventoryLive or by filling the fields and calling
// Index.
type Inventory struct {
	ENIs           []*ENI
	SecurityGroups []*SecurityGroup
	NetworkACLs    []*NetworkACL
	Instances      []*Instance
	Subnets        []*Subnet
	VPCs           []*VPC
	PrefixLists    map[string][]netip.Prefix // managed prefix list id -> CIDRs

	eniByID    map[string]*ENI
	eniByAddr  map[netip.Addr]*ENI
	sgByID     map[string]*SecurityGroup
	instByID   map[string]*Instance
	subnetByID map[string]*Subnet
	vpcByID    map[string]*VPC
	naclSubnet map[string]*NetworkACL
	members    map[string][]netip.Addr // group id -> addresses of its member ENIs
}

// Index builds the lookup maps; call it after changing the slices.
func (inv *Inventory) Index() {
	inv.eniByID = make(map[string]*ENI, len(inv.ENIs))
	inv.eniByAddr = make(map[netip.Addr]*ENI, len(inv.ENIs))
	inv.members = map[string][]netip.Addr{}
	for _, e := range inv.ENIs {
		inv.eniByID[e.ID] = e
		for _, a := range e.Addrs {
			inv.eniByAddr[a] = e
		}
		for _, a := range e.PublicAddrs {
			inv.eniByAddr[a] = e
		}
		for _, g := range e.Groups {
			inv.members[g] = append(inv.members[g], e.Addrs...)
		}
	}
	inv.sgByID = make(map[string]*SecurityGroup, len(inv.SecurityGroups))
	for _, g := range inv.SecurityGroups {
		inv.sgByID[g.ID] = g
	}
	inv.instByID = make(map[string]*Instance, len(inv.Instances))
	for _, in := range inv.Instances {
		inv.instByID[in.ID] = in
	}
	inv.subnetByID = make(map[string]*Subnet, len(inv.Subnets))
	for _, s := range inv.Subnets {
		inv.subnetByID[s.ID] = s
	}
	inv.vpcByID = make(map[string]*VPC, len(inv.VPCs))
	for _, v := range inv.VPCs {
		inv.vpcByID[v.ID] = v
	}
	inv.naclSubnet = map[string]*NetworkACL{}
	for _, n := range inv.NetworkACLs {
		sort.SliceStable(n.Entries, func(i, j int) bool {
			a, b := n.Entries[i], n.Entries[j]
			if a.Egress != b.Egress {
				return !a.Egress
			}
			return a.RuleNumber < b.RuleNumber
		})
		for _, s := range n.Subnets {
			inv.naclSubnet[s] = n
		}
	}
	// A subnet without an explicit association uses its VPC's default ACL.
	for _, s := range inv.Subnets {
		if inv.naclSubnet[s.ID] != nil {
			continue
		}
		for _, n := range inv.NetworkACLs {
			if n.IsDefault && n.VPCID == s.VPCID {
				inv.naclSubnet[s.ID] = n
			}
		}
	}
}

// ENIByID returns the interface with that id.
func (inv *Inventory) ENIByID(id string) *ENI { return inv.eniByID[id] }

// ENIByAddr returns the interface holding that private or public address.
func (inv *Inventory) ENIByAddr(a netip.Addr) *ENI { return inv.eniByAddr[a.Unmap()] }

// SecurityGroup returns the group with that id.
func (inv *Inventory) SecurityGroup(id string) *SecurityGroup { return inv.sgByID[id] }

// Instance returns the instance with that id.
func (inv *Inventory) Instance(id string) *Instance { return inv.instByID[id] }

// Subnet returns the subnet with that id.
func (inv *Inventory) Subnet(id string) *Subnet { return inv.subnetByID[id] }

// VPC returns the VPC with that id.
func (inv *Inventory) VPC(id string) *VPC { return inv.vpcByID[id] }

// NACLForSubnet returns the network ACL that guards a subnet.
func (inv *Inventory) NACLForSubnet(id string) *NetworkACL { return inv.naclSubnet[id] }

// GroupMembers returns the private addresses of the ENIs in a group.
func (inv *Inventory) GroupMembers(id string) []netip.Addr { return inv.members[id] }

// SubnetOf returns the subnet whose CIDR holds a, or nil.
func (inv *Inventory) SubnetOf(a netip.Addr) *Subnet {
	a = a.Unmap()
	var best *Subnet
	bits := -1
	for _, s := range inv.Subnets {
		for _, p := range s.CIDRs {
			if p.Contains(a) && p.Bits() > bits {
				best, bits = s, p.Bits()
			}
		}
	}
	return best
}

// InternalPrefixes returns the CIDRs of every VPC (the "internal" networks).
func (inv *Inventory) InternalPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, v := range inv.VPCs {
		out = append(out, v.CIDRs...)
	}
	return out
}

// Context is what the inventory knows about one address or interface:
// the enrichment columns of flows and findings.
type Context struct {
	ENI, InstanceID, Name, SubnetID, VPCID, Role string
	Groups                                       []string
}

// Lookup describes an ENI (by id) or an address; either may be empty.
// ok is false when neither is known.
func (inv *Inventory) Lookup(eniID string, a netip.Addr) (c Context, ok bool) {
	e := inv.eniByID[eniID]
	if e == nil && a.IsValid() {
		e = inv.eniByAddr[a.Unmap()]
	}
	if e == nil {
		return c, false
	}
	c = Context{ENI: e.ID, InstanceID: e.InstanceID, SubnetID: e.SubnetID, VPCID: e.VPCID, Groups: e.Groups}
	tags := e.Tags
	if in := inv.instByID[e.InstanceID]; in != nil {
		c.Name = in.Name
		tags = in.Tags
	}
	if c.Name == "" {
		c.Name = e.Tags["Name"]
	}
	c.Role = inv.role(e, tags)
	return c, true
}

// role reads a Role tag (Role, role, app-role), else infers it from the
// instance name, the subnet name or the interface type.
func (inv *Inventory) role(e *ENI, tags map[string]string) string {
	for _, k := range []string{"Role", "role", "app-role", "Tier", "tier"} {
		if v := tags[k]; v != "" {
			return v
		}
		if v := e.Tags[k]; v != "" {
			return v
		}
	}
	switch e.Type {
	case "nat_gateway", "load_balancer", "network_load_balancer", "gateway_load_balancer", "vpc_endpoint", "lambda":
		return e.Type
	}
	name := strings.ToLower(tags["Name"])
	if s := inv.subnetByID[e.SubnetID]; s != nil && name == "" {
		name = strings.ToLower(s.Name)
	}
	for _, r := range []string{"bastion", "web", "app", "api", "db", "database", "cache", "redis", "batch", "worker", "monitor", "backup", "scanner", "nat", "proxy", "vpn"} {
		if strings.Contains(name, r) {
			if r == "database" {
				return "db"
			}
			return r
		}
	}
	return ""
}

// Inventory file names in a directory, as `aws ec2 <verb> > <verb>.json` writes them.
var inventoryFiles = []string{
	"describe-vpcs.json", "describe-subnets.json", "describe-security-groups.json",
	"describe-network-acls.json", "describe-network-interfaces.json", "describe-instances.json",
	"managed-prefix-lists.json",
}

// ErrNoInventory is returned when a directory holds no describe-* file.
var ErrNoInventory = errors.New("no describe-*.json file")

// LoadInventoryDir reads every describe-*.json file present in dir.
func LoadInventoryDir(dir string) (*Inventory, error) {
	inv := &Inventory{}
	n := 0
	for _, name := range inventoryFiles {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read inventory %s: %w", path, err)
		}
		if err := inv.AddJSON(path, bytes.NewReader(b)); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("cannot load inventory %s: %w", dir, ErrNoInventory)
	}
	inv.Index()
	return inv, nil
}

// cliDoc is the union of the describe-* outputs; the top-level key tells
// which one a document is.
type cliDoc struct {
	Vpcs              []cliVPC      `json:"Vpcs"`
	Subnets           []cliSubnet   `json:"Subnets"`
	SecurityGroups    []cliSG       `json:"SecurityGroups"`
	NetworkAcls       []cliNACL     `json:"NetworkAcls"`
	NetworkInterfaces []cliENI      `json:"NetworkInterfaces"`
	Reservations      []cliResv     `json:"Reservations"`
	PrefixLists       []cliPrefixes `json:"PrefixLists"`
}

type cliTag struct{ Key, Value string }

type cliVPC struct {
	VpcId, CidrBlock            string
	CidrBlockAssociationSet     []struct{ CidrBlock string }
	Ipv6CidrBlockAssociationSet []struct {
		Ipv6CidrBlock string
	}
	Tags []cliTag
}

type cliSubnet struct {
	SubnetId, VpcId, CidrBlock, AvailabilityZone string
	Ipv6CidrBlockAssociationSet                  []struct{ Ipv6CidrBlock string }
	Tags                                         []cliTag
}

type cliPerm struct {
	IpProtocol       string
	FromPort, ToPort *int
	IpRanges         []struct{ CidrIp, Description string }
	Ipv6Ranges       []struct{ CidrIpv6, Description string }
	PrefixListIds    []struct{ PrefixListId, Description string }
	UserIdGroupPairs []struct{ GroupId, UserId, Description string }
}

type cliSG struct {
	GroupId, GroupName, Description, VpcId string
	IpPermissions, IpPermissionsEgress     []cliPerm
	Tags                                   []cliTag
}

type cliNACL struct {
	NetworkAclId, VpcId string
	IsDefault           bool
	Associations        []struct{ SubnetId string }
	Entries             []struct {
		RuleNumber               int
		Protocol, RuleAction     string
		Egress                   bool
		CidrBlock, Ipv6CidrBlock string
		PortRange                *struct{ From, To int }
		IcmpTypeCode             *struct{ Code, Type int }
	}
	Tags []cliTag
}

type cliENI struct {
	NetworkInterfaceId, SubnetId, VpcId, PrivateIpAddress, Description, InterfaceType string
	PrivateIpAddresses                                                                []struct {
		PrivateIpAddress string
		Association      *struct{ PublicIp string }
	}
	Ipv6Addresses []struct{ Ipv6Address string }
	Association   *struct{ PublicIp string }
	Groups        []struct{ GroupId, GroupName string }
	Attachment    *struct{ InstanceId string }
	TagSet        []cliTag
}

type cliResv struct {
	Instances []struct {
		InstanceId, SubnetId, VpcId, PrivateIpAddress, PublicIpAddress string
		Tags                                                           []cliTag
		SecurityGroups                                                 []struct{ GroupId string }
		NetworkInterfaces                                              []struct{ NetworkInterfaceId string }
	}
}

type cliPrefixes struct {
	PrefixListId string
	Entries      []struct{ Cidr string }
}

func tagMap(ts []cliTag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[t.Key] = t.Value
	}
	return m
}

// AddJSON adds one describe-* document (any of them; the top-level key
// says which). Call Index afterwards.
func (inv *Inventory) AddJSON(name string, r io.Reader) error {
	var d cliDoc
	if err := json.NewDecoder(io.LimitReader(r, 1<<30)).Decode(&d); err != nil {
		return fmt.Errorf("cannot parse inventory %s: %w", name, err)
	}
	bad := func(what, v string, err error) error {
		return fmt.Errorf("cannot parse inventory %s: %s %q: %w", name, what, v, err)
	}
	for _, v := range d.Vpcs {
		x := &VPC{ID: v.VpcId, Tags: tagMap(v.Tags)}
		x.Name = x.Tags["Name"]
		cidrs := []string{v.CidrBlock}
		for _, c := range v.CidrBlockAssociationSet {
			cidrs = append(cidrs, c.CidrBlock)
		}
		for _, c := range v.Ipv6CidrBlockAssociationSet {
			cidrs = append(cidrs, c.Ipv6CidrBlock)
		}
		for _, c := range cidrs {
			if c == "" {
				continue
			}
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return bad("VPC CIDR", c, err)
			}
			if !slicesHasPrefix(x.CIDRs, p) {
				x.CIDRs = append(x.CIDRs, p.Masked())
			}
		}
		inv.VPCs = append(inv.VPCs, x)
	}
	for _, s := range d.Subnets {
		x := &Subnet{ID: s.SubnetId, VPCID: s.VpcId, AZ: s.AvailabilityZone, Tags: tagMap(s.Tags)}
		x.Name = x.Tags["Name"]
		cidrs := []string{s.CidrBlock}
		for _, c := range s.Ipv6CidrBlockAssociationSet {
			cidrs = append(cidrs, c.Ipv6CidrBlock)
		}
		for _, c := range cidrs {
			if c == "" {
				continue
			}
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return bad("subnet CIDR", c, err)
			}
			x.CIDRs = append(x.CIDRs, p.Masked())
		}
		inv.Subnets = append(inv.Subnets, x)
	}
	for _, g := range d.SecurityGroups {
		x := &SecurityGroup{ID: g.GroupId, Name: g.GroupName, Description: g.Description, VPCID: g.VpcId, Tags: tagMap(g.Tags)}
		for dir, perms := range [2][]cliPerm{g.IpPermissions, g.IpPermissionsEgress} {
			for _, p := range perms {
				if err := x.addPermission(p, dir == 1); err != nil {
					return fmt.Errorf("cannot parse inventory %s: group %s: %w", name, g.GroupId, err)
				}
			}
		}
		inv.SecurityGroups = append(inv.SecurityGroups, x)
	}
	for _, n := range d.NetworkAcls {
		x := &NetworkACL{ID: n.NetworkAclId, VPCID: n.VpcId, IsDefault: n.IsDefault, Tags: tagMap(n.Tags)}
		for _, a := range n.Associations {
			x.Subnets = append(x.Subnets, a.SubnetId)
		}
		for _, e := range n.Entries {
			proto, err := ParseProtocol(e.Protocol)
			if err != nil {
				return fmt.Errorf("cannot parse inventory %s: acl %s rule %d: %w", name, n.NetworkAclId, e.RuleNumber, err)
			}
			c := e.CidrBlock
			if c == "" {
				c = e.Ipv6CidrBlock
			}
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return bad("acl "+n.NetworkAclId+" CIDR", c, err)
			}
			ent := NACLEntry{RuleNumber: e.RuleNumber, Egress: e.Egress, Allow: strings.EqualFold(e.RuleAction, "allow"),
				Protocol: proto, CIDR: p.Masked(), FromPort: 0, ToPort: 65535}
			if e.PortRange != nil && (proto == ProtoTCP || proto == ProtoUDP) {
				ent.FromPort, ent.ToPort = e.PortRange.From, e.PortRange.To
			}
			x.Entries = append(x.Entries, ent)
		}
		inv.NetworkACLs = append(inv.NetworkACLs, x)
	}
	for _, e := range d.NetworkInterfaces {
		x := &ENI{ID: e.NetworkInterfaceId, SubnetID: e.SubnetId, VPCID: e.VpcId, Description: e.Description, Type: e.InterfaceType, Tags: tagMap(e.TagSet)}
		if e.Attachment != nil {
			x.InstanceID = e.Attachment.InstanceId
		}
		add := func(dst *[]netip.Addr, s string) error {
			if s == "" {
				return nil
			}
			a, err := netip.ParseAddr(s)
			if err != nil {
				return bad("interface "+e.NetworkInterfaceId+" address", s, err)
			}
			for _, have := range *dst {
				if have == a {
					return nil
				}
			}
			*dst = append(*dst, a)
			return nil
		}
		if err := add(&x.Addrs, e.PrivateIpAddress); err != nil {
			return err
		}
		for _, p := range e.PrivateIpAddresses {
			if err := add(&x.Addrs, p.PrivateIpAddress); err != nil {
				return err
			}
			if p.Association != nil {
				if err := add(&x.PublicAddrs, p.Association.PublicIp); err != nil {
					return err
				}
			}
		}
		for _, p := range e.Ipv6Addresses {
			if err := add(&x.Addrs, p.Ipv6Address); err != nil {
				return err
			}
		}
		if e.Association != nil {
			if err := add(&x.PublicAddrs, e.Association.PublicIp); err != nil {
				return err
			}
		}
		for _, g := range e.Groups {
			x.Groups = append(x.Groups, g.GroupId)
		}
		inv.ENIs = append(inv.ENIs, x)
	}
	for _, r := range d.Reservations {
		for _, in := range r.Instances {
			x := &Instance{ID: in.InstanceId, SubnetID: in.SubnetId, VPCID: in.VpcId, Tags: tagMap(in.Tags)}
			x.Name = x.Tags["Name"]
			for _, n := range in.NetworkInterfaces {
				x.ENIs = append(x.ENIs, n.NetworkInterfaceId)
			}
			for _, g := range in.SecurityGroups {
				x.Groups = append(x.Groups, g.GroupId)
			}
			inv.Instances = append(inv.Instances, x)
		}
	}
	for _, pl := range d.PrefixLists {
		if inv.PrefixLists == nil {
			inv.PrefixLists = map[string][]netip.Prefix{}
		}
		for _, e := range pl.Entries {
			p, err := netip.ParsePrefix(e.Cidr)
			if err != nil {
				return bad("prefix list "+pl.PrefixListId+" CIDR", e.Cidr, err)
			}
			inv.PrefixLists[pl.PrefixListId] = append(inv.PrefixLists[pl.PrefixListId], p.Masked())
		}
	}
	return nil
}

func slicesHasPrefix(ps []netip.Prefix, p netip.Prefix) bool {
	for _, q := range ps {
		if q == p.Masked() {
			return true
		}
	}
	return false
}

func (g *SecurityGroup) addPermission(p cliPerm, egress bool) error {
	proto, err := ParseProtocol(p.IpProtocol)
	if err != nil {
		return err
	}
	from, to := -1, -1
	if p.FromPort != nil {
		from = *p.FromPort
	}
	if p.ToPort != nil {
		to = *p.ToPort
	}
	if proto == AnyProtocol {
		from, to = -1, -1
	}
	dir := "in"
	if egress {
		dir = "out"
	}
	base := SGRule{GroupID: g.ID, Egress: egress, Protocol: proto, FromPort: from, ToPort: to}
	add := func(r SGRule) {
		r.ID = g.ID + ":" + dir + ":" + strconv.Itoa(countDir(g.Rules, egress))
		g.Rules = append(g.Rules, r)
	}
	for _, c := range p.IpRanges {
		pfx, err := netip.ParsePrefix(c.CidrIp)
		if err != nil {
			return fmt.Errorf("cannot parse rule CIDR %q: %w", c.CidrIp, err)
		}
		r := base
		r.CIDR, r.Description = pfx.Masked(), c.Description
		add(r)
	}
	for _, c := range p.Ipv6Ranges {
		pfx, err := netip.ParsePrefix(c.CidrIpv6)
		if err != nil {
			return fmt.Errorf("cannot parse rule CIDR %q: %w", c.CidrIpv6, err)
		}
		r := base
		r.CIDR, r.Description = pfx.Masked(), c.Description
		add(r)
	}
	for _, c := range p.PrefixListIds {
		r := base
		r.PrefixList, r.Description = c.PrefixListId, c.Description
		add(r)
	}
	for _, c := range p.UserIdGroupPairs {
		r := base
		r.PeerGroup, r.Description = c.GroupId, c.Description
		add(r)
	}
	return nil
}

func countDir(rs []SGRule, egress bool) int {
	n := 0
	for i := range rs {
		if rs[i].Egress == egress {
			n++
		}
	}
	return n
}
