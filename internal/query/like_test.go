package query

import (
	"strings"
	"testing"
)

// TestLikeAddressPrefix: a LIKE of whole IPv4 octets on an address column
// gains the numeric range of those addresses, only where that column's
// twin is in scope; the LIKE itself stays, so the rows are the same.
func TestLikeAddressPrefix(t *testing.T) {
	f := func(q, want string) {
		t.Helper()
		for _, d := range []Dialect{DialectDuckDB, DialectClickHouse} {
			got, err := Translate(q, d)
			if err != nil {
				t.Fatalf("%q: %v", q, err)
			}
			if !strings.Contains(got, want) {
				t.Fatalf("%q (dialect %v):\n got %s\nwant it to contain %s", q, d, got, want)
			}
		}
	}
	f("SELECT srcAddr FROM vpc_flow_logs WHERE action = 'REJECT' AND srcAddr LIKE '203.%'",
		"(src_ip4 BETWEEN 3405774848 AND 3422552063 AND srcaddr LIKE '203.%')")
	f("SELECT * FROM vpc_flow_logs WHERE NOT dstaddr LIKE '10.0.1.%'",
		"NOT (dst_ip4 BETWEEN 167772416 AND 167772671 AND dstaddr LIKE '10.0.1.%')")
	f("SELECT count(*) FROM vpc_flow_logs WHERE srcaddr LIKE '0.%'", "(src_ip4 BETWEEN 0 AND 16777215 AND srcaddr LIKE '0.%')")
	// Left as written: patterns that are not whole octets, ESCAPE, a
	// qualified column, other columns, and queries where src_ip4 may not
	// be in scope.
	for _, q := range []string{
		"SELECT * FROM vpc_flow_logs WHERE srcaddr LIKE '10.0%'",
		"SELECT * FROM vpc_flow_logs WHERE srcaddr LIKE '010.%'",
		"SELECT * FROM vpc_flow_logs WHERE srcaddr LIKE '256.%'",
		"SELECT * FROM vpc_flow_logs WHERE srcaddr LIKE '1.2.3.4.%'",
		"SELECT * FROM vpc_flow_logs WHERE srcaddr LIKE '10.%' ESCAPE '!'",
		"SELECT * FROM vpc_flow_logs v WHERE v.srcaddr LIKE '10.%'",
		"SELECT * FROM vpc_flow_logs WHERE interface_id LIKE '10.%'",
		"WITH x AS (SELECT srcaddr FROM vpc_flow_logs) SELECT * FROM x WHERE srcaddr LIKE '10.%'",
		"SELECT * FROM (SELECT srcaddr FROM vpc_flow_logs) WHERE srcaddr LIKE '10.%'",
		"SELECT * FROM vpc_flow_logs a JOIN vpc_flow_logs b ON a.srcaddr = b.dstaddr WHERE srcaddr LIKE '10.%'",
		"SELECT * FROM my_table WHERE srcaddr LIKE '10.%'",
	} {
		got, err := Translate(q, DialectDuckDB)
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		if strings.Contains(got, "BETWEEN") {
			t.Errorf("%q became %s", q, got)
		}
	}
}
