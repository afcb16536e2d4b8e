package querytest

import "testing"

// AWS's sample Logs Insights queries for VPC flow logs (CloudWatch Logs user
// guide, "Sample queries"), with the fixture's addresses in the NAT gateway
// samples' x.x.x.x / y.y placeholders.
func TestInsightsSamples(t *testing.T) {
	runGolden(t, []goldenCase{
		{name: "ins_top_packet_pairs", insights: true, // ties at 10 and 4 packets: order among them is free
			q: `stats sum(packets) as packetsTransferred by srcAddr, dstAddr | sort packetsTransferred desc | limit 15`},
		{name: "ins_subnet_bytes", insights: true, ordered: true, q: `filter isIpv4InSubnet(srcAddr, "192.0.2.0/24") | stats sum(bytes) as bytesTransferred by dstAddr | sort bytesTransferred desc | limit 15`},
		{name: "ins_udp_by_source", insights: true, q: `filter protocol=17 | stats count(*) by srcAddr`},
		{name: "ins_skipdata_hourly", insights: true, ordered: true, q: `filter logStatus="SKIPDATA" | stats count(*) by bin(1h) as t | sort t`},
		{name: "ins_dedup_eni", insights: true, ordered: true, q: `fields @timestamp, srcAddr, dstAddr, srcPort, dstPort, protocol, bytes
  | filter logStream = 'vpc-flow-logs' and interfaceId = 'eni-0aaa1111aaaa1111a'
  | sort @timestamp desc | dedup srcAddr, dstAddr, srcPort, dstPort, protocol | limit 20`},
		{name: "ins_dedup_eni_stream", insights: true, ordered: true, q: `fields @timestamp, srcAddr, dstAddr, srcPort, dstPort, protocol, bytes
  | filter @logStream = 'eni-0aaa1111aaaa1111a' and interfaceId = 'eni-0aaa1111aaaa1111a'
  | sort @timestamp desc | dedup srcAddr, dstAddr | limit 20`},
		{name: "ins_nat_to", insights: true, ordered: true, q: `filter (dstAddr like '198.51.100.20' and srcAddr like '10.0.') | stats sum(bytes) as bytesTransferred by srcAddr, dstAddr | sort bytesTransferred desc | limit 10`},
		{name: "ins_nat_both", insights: true, ordered: true, q: `filter (dstAddr like '10.0.2.20' and srcAddr like '10.0.') or (srcAddr like '192.0.2.15' and dstAddr like '10.0.') | stats sum(bytes) as bytesTransferred by srcAddr, dstAddr | sort bytesTransferred desc | limit 10`},
		{name: "ins_nat_uploads", insights: true, ordered: true, q: `filter (srcAddr like '10.0.1.10' and dstAddr not like '10.0.') | stats sum(bytes) as bytesTransferred by srcAddr, dstAddr | sort bytesTransferred desc | limit 10`},
		{name: "ins_nat_downloads", insights: true, ordered: true, q: `filter (dstAddr like '10.0.1.10' and srcAddr not like '10.0.') | stats sum(bytes) as bytesTransferred by srcAddr, dstAddr | sort bytesTransferred desc | limit 10`},
		{name: "ins_hourly_count", insights: true, ordered: true, q: `stats count(*) by bin(1h)`},
		{name: "ins_latest_messages", insights: true, // two flows share the latest-but-one second
			q: `fields @timestamp, @message | sort @timestamp desc | limit 5`},
	})
}

// The rest of the language: every command and aggregate flowhunt supports.
func TestInsightsLanguage(t *testing.T) {
	runGolden(t, []goldenCase{
		{name: "insl_aggregates", insights: true, ordered: true, q: `filter action = "ACCEPT" and ispresent(srcAddr)
| stats count(*) as n, count_distinct(dstAddr) as peers, sum(bytes) as total, avg(packets) as avgpk, min(dstPort) as lo, max(dstPort) as hi,
        pct(bytes, 50) as p50, earliest(dstAddr) as first, latest(dstAddr) as last by interfaceId
| sort interfaceId`},
		{name: "insl_filters", insights: true, ordered: true, q: `fields @timestamp, srcAddr, dstPort, action
| filter dstPort in [22, 3389, 443] and srcAddr not in ["203.0.113.77"] and not (action = "ACCEPT" and dstPort = 443)
| filter srcAddr =~ /^203\./ or srcAddr like /^198\.51/
| sort @timestamp asc`},
		{name: "insl_parse_glob", insights: true, ordered: true, q: `parse @message "* * * * * * * 17 *" as v, acct, eni, src, dst, sport, dport, rest
| filter ispresent(eni)
| display eni, src, dst, dport`},
		{name: "insl_parse_regex_two_stats", insights: true, ordered: true, q: `filter logStatus = "OK"
| parse @message /^2 \d+ (?<eni>eni-[0-9a-f]+) (?<src>\S+) /
| stats count(*) as flows by eni, src
| stats count(*) as sources, sum(flows) as total by eni
| sort total desc, eni`},
		{name: "insl_fields_expr", insights: true, ordered: true, q: `filter bytes > 1000000
| fields srcAddr, bytes / 1048576 as mib, strlen(interfaceId) as n, toupper(action) as act, concat(srcAddr, ":", srcPort) as ep
| sort mib desc`},
		{name: "insl_private", insights: true, q: `filter isIpInSubnet(srcAddr, "10.0.0.0/16") and not is_private_ip(dstAddr) | stats count(*) as c by srcAddr, dstAddr`},
	})
}
