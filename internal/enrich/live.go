package enrich

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// EC2API is the part of the EC2 client the live loader calls; tests pass a fake.
type EC2API interface {
	ec2.DescribeVpcsAPIClient
	ec2.DescribeSubnetsAPIClient
	ec2.DescribeSecurityGroupsAPIClient
	ec2.DescribeNetworkAclsAPIClient
	ec2.DescribeNetworkInterfacesAPIClient
	ec2.DescribeInstancesAPIClient
}

// LoadInventoryLive reads the inventory of the client's account and region
// through the EC2 API, following every page. The SDK's types carry the same
// field names as the CLI's JSON, so each page goes through the same parser as
// files do: one code path for both.
func LoadInventoryLive(ctx context.Context, cfg aws.Config) (*Inventory, error) {
	return LoadInventoryFrom(ctx, ec2.NewFromConfig(cfg))
}

// LoadInventoryFrom is LoadInventoryLive with a given client.
func LoadInventoryFrom(ctx context.Context, c EC2API) (*Inventory, error) {
	inv := &Inventory{}
	add := func(what string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("cannot encode %s: %w", what, err)
		}
		return inv.AddJSON("live "+what, bytes.NewReader(b))
	}
	for p := ec2.NewDescribeVpcsPaginator(c, &ec2.DescribeVpcsInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("cannot describe vpcs: %w", err)
		}
		if err := add("describe-vpcs", map[string]any{"Vpcs": out.Vpcs}); err != nil {
			return nil, err
		}
	}
	for p := ec2.NewDescribeSubnetsPaginator(c, &ec2.DescribeSubnetsInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("cannot describe subnets: %w", err)
		}
		if err := add("describe-subnets", map[string]any{"Subnets": out.Subnets}); err != nil {
			return nil, err
		}
	}
	for p := ec2.NewDescribeSecurityGroupsPaginator(c, &ec2.DescribeSecurityGroupsInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("cannot describe security groups: %w", err)
		}
		if err := add("describe-security-groups", map[string]any{"SecurityGroups": out.SecurityGroups}); err != nil {
			return nil, err
		}
	}
	for p := ec2.NewDescribeNetworkAclsPaginator(c, &ec2.DescribeNetworkAclsInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("cannot describe network acls: %w", err)
		}
		if err := add("describe-network-acls", map[string]any{"NetworkAcls": out.NetworkAcls}); err != nil {
			return nil, err
		}
	}
	for p := ec2.NewDescribeNetworkInterfacesPaginator(c, &ec2.DescribeNetworkInterfacesInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("cannot describe network interfaces: %w", err)
		}
		if err := add("describe-network-interfaces", map[string]any{"NetworkInterfaces": out.NetworkInterfaces}); err != nil {
			return nil, err
		}
	}
	for p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("cannot describe instances: %w", err)
		}
		if err := add("describe-instances", map[string]any{"Reservations": out.Reservations}); err != nil {
			return nil, err
		}
	}
	inv.Index()
	return inv, nil
}
