package querytest

import "testing"

// The four queries of the mission's seed, verbatim.
func TestSeedQueries(t *testing.T) {
	runGolden(t, []goldenCase{
		{name: "q1_blocked_from_203", q: `SELECT srcAddr, dstAddr, action, bytes, start, end
FROM vpc_flow_logs
WHERE action = 'REJECT'
AND srcAddr LIKE '203.%';`},
		{name: "q2_exfil_over_100MB", q: `SELECT srcAddr, dstAddr, SUM(bytes) AS total_bytes
FROM vpc_flow_logs
WHERE action = 'ACCEPT'
GROUP BY srcAddr, dstAddr
HAVING total_bytes > 100000000;`},
		{name: "q3_internal_pairs", q: `SELECT srcAddr, dstAddr, protocol, bytes, start, end
FROM vpc_flow_logs
WHERE srcAddr LIKE '10.0.%' AND dstAddr LIKE '10.0.%';`},
		{name: "q4_failed_attempts", q: `SELECT srcAddr, dstAddr, COUNT(*) AS failed_attempts
FROM vpc_flow_logs
WHERE action = 'REJECT'
GROUP BY srcAddr, dstAddr
HAVING failed_attempts > 10;`},
	})
}
