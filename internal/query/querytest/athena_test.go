package querytest

import "testing"

// AWS's documented Athena queries for VPC flow logs (Athena user guide,
// "Querying Amazon VPC flow logs" and the partition-projection page), run
// unchanged. The fixture's days are 2026-11-01 and 2026-11-02, plus three
// flows dated 2030-01-01 so that "date > current_date - interval '7' day"
// has a fixed answer on any clock before 2029-12-25.
func TestAthenaSamples(t *testing.T) {
	runGolden(t, []goldenCase{
		{name: "athena_date_partition", q: `SELECT * FROM vpc_flow_logs WHERE date = DATE('2026-11-02') LIMIT 100;`},
		{name: "athena_rejected_tcp_day_of_week", q: `SELECT day_of_week(date) AS day, date, interface_id, srcaddr, action, protocol
  FROM vpc_flow_logs WHERE action = 'REJECT' AND protocol = 6 LIMIT 100;`},
		{name: "athena_top_https_last_7_days", ordered: true, q: `SELECT SUM(packets) AS packetcount, dstaddr FROM vpc_flow_logs
  WHERE dstport = 443 AND date > current_date - interval '7' day
  GROUP BY dstaddr ORDER BY packetcount DESC LIMIT 10;`},
		{name: "athena_projection_day_range", ordered: true, q: `SELECT * FROM vpc_flow_logs WHERE day >= '2026/11/02' AND day < '2026/11/30' ORDER BY day ASC LIMIT 100`},
		{name: "athena_projection_top_https", ordered: true, q: `SELECT SUM(packets) AS packetcount, dstaddr
FROM vpc_flow_logs
WHERE dstport = 443 AND day >= '2026/11/01' AND day < '2026/11/30'
GROUP BY dstaddr
ORDER BY packetcount DESC
LIMIT 10`},
		{name: "athena_projection_iso_times", q: `SELECT interface_id,
  srcaddr,
  action,
  protocol,
  to_iso8601(from_unixtime(start)) AS start_time,
  to_iso8601(from_unixtime("end")) AS end_time
FROM vpc_flow_logs
WHERE dstaddr = '10.0.2.20'
AND day >= '2026/11/01' AND day < '2026/11/30'`},
		{name: "athena_projection_one_source", q: `SELECT * FROM vpc_flow_logs WHERE srcaddr = '10.117.1.22' AND day >= '2026/11/01' AND day < '2026/11/30' LIMIT 100`},
		{name: "athena_projection_rejected_tcp", q: `SELECT interface_id, srcaddr, action, protocol FROM vpc_flow_logs WHERE action = 'REJECT' AND protocol = 6 AND day >= '2026/11/02' AND day < '2026/11/30' LIMIT 100`},
		{name: "athena_projection_split_part", q: `SELECT * FROM vpc_flow_logs
WHERE split_part(srcaddr,'.', 1) = '10'
AND split_part(srcaddr,'.', 2) = '117'`},
		{name: "athena_projection_one_destination", q: `SELECT * FROM vpc_flow_logs WHERE dstaddr = '198.51.100.21' AND day >= '2026/11/01' AND day < '2026/11/30' LIMIT 100`},
	})
}

// flowhunt's IP functions in SQL: literal CIDRs over stored address columns
// become integer range tests, anything else goes through the macros.
func TestIPFunctionsSQL(t *testing.T) {
	runGolden(t, []goldenCase{
		{name: "ip_v4_literal", q: `SELECT srcaddr, dstaddr FROM vpc_flow_logs WHERE isIpv4InSubnet(srcaddr, '192.0.2.0/24')`},
		{name: "ip_v6_literal", q: `SELECT srcaddr, dstaddr FROM vpc_flow_logs WHERE isIpInSubnet(dstAddr, '2001:db8:1::/48')`},
		{name: "ip_macros", q: `SELECT srcaddr, isIpInSubnet(srcaddr || '', '203.0.113.0/25') AS v4, isIpv6InSubnet(lower(srcaddr), '2001:db8::/32') AS v6,
  isValidIp(srcaddr) AS valid, isValidIpV4(srcaddr) AS v4ok, isValidIpV6(srcaddr) AS v6ok, is_private_ip(srcaddr || '') AS priv_macro, isPrivateIp(srcaddr) AS priv
FROM vpc_flow_logs WHERE log_status = 'OK' GROUP BY ALL`},
	})
}
