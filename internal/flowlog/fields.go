// Package flowlog is the VPC Flow Logs record model: the registry of every
// field AWS defines (versions 2 to 11), layouts resolved from headers and
// LogFormat strings, columnar batches, and the decoders and encoders of every
// delivery format.
package flowlog

import (
	"fmt"
	"strings"
)

// Field identifies one flow log field. The order is AWS's documentation order,
// which is also the order of a format that selects every field.
type Field uint8

const (
	Version Field = iota
	AccountID
	InterfaceID
	SrcAddr
	DstAddr
	SrcPort
	DstPort
	Protocol
	Packets
	Bytes
	Start
	End
	Action
	LogStatus
	VPCID
	SubnetID
	InstanceID
	TCPFlags
	Type
	PktSrcAddr
	PktDstAddr
	Region
	AZID
	SublocationType
	SublocationID
	PktSrcAWSService
	PktDstAWSService
	FlowDirection
	TrafficPath
	ECSClusterARN
	ECSClusterName
	ECSContainerInstanceARN
	ECSContainerInstanceID
	ECSContainerID
	ECSSecondContainerID
	ECSServiceName
	ECSTaskDefinitionARN
	ECSTaskARN
	ECSTaskID
	RejectReason
	ResourceID
	EncryptionStatus
	InstanceTag
	InstanceTag2
	InterfaceTag
	InterfaceTag2
	ASGTag
	ASGTag2
	InterfaceType
	NextHopInterfaceID
	NextHopSubnetID
	NextHopAZID
	NextHopVPCID
	NextHopInterfaceType

	// NumFields is the number of fields in the registry.
	NumFields
)

// Kind is how a field's value is typed once decoded. Text delivery carries
// every value as a string; Parquet delivery types them as below.
type Kind uint8

const (
	KindString Kind = iota
	KindInt32       // Parquet INT_32
	KindInt64       // Parquet INT_64
)

// IsInt reports whether values of the kind are integers.
func (k Kind) IsInt() bool { return k != KindString }

// FieldInfo describes one field of the registry.
type FieldInfo struct {
	Name     string // AWS name as in ${name}: "account-id"
	Column   string // canonical column name: "account_id"
	Insights string // CloudWatch Logs Insights discovered name: "accountId"
	Version  int    // flow log version that introduced the field
	Kind     Kind
	Min, Max int64 // inclusive value bounds for integer fields
}

var fields = [NumFields]FieldInfo{
	Version:                 {Name: "version", Version: 2, Kind: KindInt32, Min: 2, Max: 255},
	AccountID:               {Name: "account-id", Insights: "accountId", Version: 2},
	InterfaceID:             {Name: "interface-id", Insights: "interfaceId", Version: 2},
	SrcAddr:                 {Name: "srcaddr", Insights: "srcAddr", Version: 2},
	DstAddr:                 {Name: "dstaddr", Insights: "dstAddr", Version: 2},
	SrcPort:                 {Name: "srcport", Insights: "srcPort", Version: 2, Kind: KindInt32, Max: 65535},
	DstPort:                 {Name: "dstport", Insights: "dstPort", Version: 2, Kind: KindInt32, Max: 65535},
	Protocol:                {Name: "protocol", Version: 2, Kind: KindInt32, Max: 255},
	Packets:                 {Name: "packets", Version: 2, Kind: KindInt64, Max: 1<<63 - 1},
	Bytes:                   {Name: "bytes", Version: 2, Kind: KindInt64, Max: 1<<63 - 1},
	Start:                   {Name: "start", Insights: "startTime", Version: 2, Kind: KindInt64, Max: 1<<63 - 1},
	End:                     {Name: "end", Insights: "endTime", Version: 2, Kind: KindInt64, Max: 1<<63 - 1},
	Action:                  {Name: "action", Version: 2},
	LogStatus:               {Name: "log-status", Insights: "logStatus", Version: 2},
	VPCID:                   {Name: "vpc-id", Insights: "vpcId", Version: 3},
	SubnetID:                {Name: "subnet-id", Insights: "subnetId", Version: 3},
	InstanceID:              {Name: "instance-id", Insights: "instanceId", Version: 3},
	TCPFlags:                {Name: "tcp-flags", Insights: "tcpFlags", Version: 3, Kind: KindInt32, Max: 0xffff},
	Type:                    {Name: "type", Version: 3},
	PktSrcAddr:              {Name: "pkt-srcaddr", Insights: "pktSrcAddr", Version: 3},
	PktDstAddr:              {Name: "pkt-dstaddr", Insights: "pktDstAddr", Version: 3},
	Region:                  {Name: "region", Version: 4},
	AZID:                    {Name: "az-id", Insights: "azId", Version: 4},
	SublocationType:         {Name: "sublocation-type", Insights: "sublocationType", Version: 4},
	SublocationID:           {Name: "sublocation-id", Insights: "sublocationId", Version: 4},
	PktSrcAWSService:        {Name: "pkt-src-aws-service", Insights: "pktSrcAwsService", Version: 5},
	PktDstAWSService:        {Name: "pkt-dst-aws-service", Insights: "pktDstAwsService", Version: 5},
	FlowDirection:           {Name: "flow-direction", Insights: "flowDirection", Version: 5},
	TrafficPath:             {Name: "traffic-path", Insights: "trafficPath", Version: 5, Kind: KindInt32, Min: 1, Max: 255},
	ECSClusterARN:           {Name: "ecs-cluster-arn", Version: 7},
	ECSClusterName:          {Name: "ecs-cluster-name", Version: 7},
	ECSContainerInstanceARN: {Name: "ecs-container-instance-arn", Version: 7},
	ECSContainerInstanceID:  {Name: "ecs-container-instance-id", Version: 7},
	ECSContainerID:          {Name: "ecs-container-id", Version: 7},
	ECSSecondContainerID:    {Name: "ecs-second-container-id", Version: 7},
	ECSServiceName:          {Name: "ecs-service-name", Version: 7},
	ECSTaskDefinitionARN:    {Name: "ecs-task-definition-arn", Version: 7},
	ECSTaskARN:              {Name: "ecs-task-arn", Version: 7},
	ECSTaskID:               {Name: "ecs-task-id", Version: 7},
	RejectReason:            {Name: "reject-reason", Version: 8},
	ResourceID:              {Name: "resource-id", Version: 9},
	EncryptionStatus:        {Name: "encryption-status", Version: 10, Kind: KindInt32, Max: 3},
	InstanceTag:             {Name: "instance-tag", Version: 11},
	InstanceTag2:            {Name: "instance-tag-2", Version: 11},
	InterfaceTag:            {Name: "interface-tag", Version: 11},
	InterfaceTag2:           {Name: "interface-tag-2", Version: 11},
	ASGTag:                  {Name: "asg-tag", Version: 11},
	ASGTag2:                 {Name: "asg-tag-2", Version: 11},
	InterfaceType:           {Name: "interface-type", Version: 11},
	NextHopInterfaceID:      {Name: "next-hop-interface-id", Version: 11},
	NextHopSubnetID:         {Name: "next-hop-subnet-id", Version: 11},
	NextHopAZID:             {Name: "next-hop-az-id", Version: 11},
	NextHopVPCID:            {Name: "next-hop-vpc-id", Version: 11},
	NextHopInterfaceType:    {Name: "next-hop-interface-type", Version: 11},
}

var byName = map[string]Field{}

func init() {
	for i := range fields {
		fi := &fields[i]
		fi.Column = strings.ReplaceAll(fi.Name, "-", "_")
		if fi.Insights == "" {
			fi.Insights = camel(fi.Name)
		}
		byName[fi.Name] = Field(i)
		byName[fi.Column] = Field(i)
	}
}

// camel turns "ecs-cluster-arn" into "ecsClusterArn".
func camel(name string) string {
	var b strings.Builder
	up := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '-' {
			up = true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		b.WriteByte(c)
	}
	return b.String()
}

// Info returns the registry entry of f.
func (f Field) Info() *FieldInfo { return &fields[f] }

// String returns the AWS name of f.
func (f Field) String() string {
	if f >= NumFields {
		return fmt.Sprintf("field(%d)", uint8(f))
	}
	return fields[f].Name
}

// Column returns the canonical column name of f.
func (f Field) Column() string { return fields[f].Column }

// Kind returns how values of f are typed.
func (f Field) Kind() Kind { return fields[f].Kind }

// LookupField finds a field by its AWS name ("account-id"), its column name
// ("account_id") or its ${…} form. It is case-sensitive, as AWS is.
func LookupField(name string) (Field, bool) {
	if strings.HasPrefix(name, "${") && strings.HasSuffix(name, "}") {
		name = name[2 : len(name)-1]
	}
	f, ok := byName[name]
	return f, ok
}

// AllFields returns every field in registry order.
func AllFields() []Field {
	out := make([]Field, NumFields)
	for i := range out {
		out[i] = Field(i)
	}
	return out
}
