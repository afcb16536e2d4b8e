package server

// Sample is a query the console offers one click away.
type Sample struct {
	Group string `json:"group"`
	Title string `json:"title"`
	Mode  string `json:"mode"` // sql or insights
	Query string `json:"query"`
}

// Samples are the seed's four hunting queries (verbatim), AWS's documented
// Athena samples for VPC flow logs and AWS's CloudWatch Logs Insights
// samples for VPC flow logs.
var Samples = []Sample{
	{"Seed", "Blocked traffic from suspicious ranges", "sql", "SELECT srcAddr, dstAddr, action, bytes, start, end\nFROM vpc_flow_logs\nWHERE action = 'REJECT'\nAND srcAddr LIKE '203.%';"},
	{"Seed", "Flows with more than 100 MB transferred", "sql", "SELECT srcAddr, dstAddr, SUM(bytes) AS total_bytes\nFROM vpc_flow_logs\nWHERE action = 'ACCEPT'\nGROUP BY srcAddr, dstAddr\nHAVING total_bytes > 100000000;"},
	{"Seed", "Traffic between instances in the VPC", "sql", "SELECT srcAddr, dstAddr, protocol, bytes, start, end\nFROM vpc_flow_logs\nWHERE srcAddr LIKE '10.0.%' AND dstAddr LIKE '10.0.%';"},
	{"Seed", "Repeated failed connection attempts", "sql", "SELECT srcAddr, dstAddr, COUNT(*) AS failed_attempts\nFROM vpc_flow_logs\nWHERE action = 'REJECT'\nGROUP BY srcAddr, dstAddr\nHAVING failed_attempts > 10;"},

	{"Athena", "Rejected TCP traffic", "sql", "SELECT day_of_week(date) AS day, date, interface_id, srcaddr, action, protocol\n  FROM vpc_flow_logs WHERE action = 'REJECT' AND protocol = 6 LIMIT 100;"},
	{"Athena", "Top 10 HTTPS destinations by packets (7 days)", "sql", "SELECT SUM(packets) AS packetcount, dstaddr FROM vpc_flow_logs\n  WHERE dstport = 443 AND date > current_date - interval '7' day\n  GROUP BY dstaddr ORDER BY packetcount DESC LIMIT 10;"},
	{"Athena", "Flows with ISO-8601 times", "sql", "SELECT to_iso8601(from_unixtime(start)) AS start_time, to_iso8601(from_unixtime(\"end\")) AS end_time,\n  srcaddr, dstaddr, dstport, action FROM vpc_flow_logs LIMIT 100;"},
	{"Athena", "Traffic from 10.117.x.x", "sql", "SELECT * FROM vpc_flow_logs\n  WHERE split_part(srcaddr,'.',1)='10' AND split_part(srcaddr,'.',2)='117' LIMIT 100;"},
	{"Athena", "Top talkers (50 IPs)", "sql", "SELECT srcaddr, SUM(bytes) AS total_bytes FROM vpc_flow_logs\n  GROUP BY srcaddr ORDER BY total_bytes DESC LIMIT 50;"},
	{"Athena", "SSH and RDP traffic", "sql", "SELECT srcaddr, dstaddr, dstport, action, COUNT(*) AS flows FROM vpc_flow_logs\n  WHERE dstport IN (22, 3389) GROUP BY srcaddr, dstaddr, dstport, action ORDER BY flows DESC LIMIT 100;"},

	{"Insights", "Top 15 packet transfers", "insights", "stats sum(packets) as packetsTransferred by srcAddr, dstAddr | sort packetsTransferred desc | limit 15"},
	{"Insights", "Top 15 byte transfers from a subnet", "insights", "filter isIpv4InSubnet(srcAddr, \"10.0.0.0/16\") | stats sum(bytes) as bytesTransferred by dstAddr | sort bytesTransferred desc | limit 15"},
	{"Insights", "UDP flows by source", "insights", "filter protocol=17 | stats count(*) by srcAddr"},
	{"Insights", "SKIPDATA records per hour", "insights", "filter logStatus=\"SKIPDATA\" | stats count(*) by bin(1h) as t | sort t"},
	{"Insights", "Rejected flows per hour", "insights", "filter action=\"REJECT\" | stats count(*) as rejected by bin(1h) as t | sort t"},
	{"Insights", "Latest 25 records", "insights", "fields @timestamp, @message | sort @timestamp desc | limit 25"},
}
