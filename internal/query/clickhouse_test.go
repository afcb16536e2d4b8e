package query

import (
	"strings"
	"testing"
)

func TestToClickHouse(t *testing.T) {
	opts := ClickHouseOptions{Tables: map[string]string{"vpc_flow_logs": "fh.vpc_flow_logs"}}
	f := func(in string, args []any, want string) {
		t.Helper()
		got, err := ToClickHouse(in, args, opts)
		if err != nil {
			t.Fatalf("ToClickHouse(%q): %v", in, err)
		}
		if got != want {
			t.Errorf("ToClickHouse(%q)\n got: %s\nwant: %s", in, got, want)
		}
	}
	f("SELECT srcAddr, dstAddr, action, bytes, start, end FROM vpc_flow_logs WHERE action = 'REJECT' AND srcAddr LIKE '203.%';", nil,
		`SELECT srcaddr, dstaddr, action, bytes, start, "end" FROM fh.vpc_flow_logs AS vpc_flow_logs WHERE action = 'REJECT' AND (src_ip4 BETWEEN 3405774848 AND 3422552063 AND srcaddr LIKE '203.%')`)
	f("SELECT count(*) FROM vpc_flow_logs AS v WHERE (tcp_flags & 18) = 2 AND start >= ? AND x = ?", []any{int64(5), "a'b\\"},
		`SELECT count() FROM fh.vpc_flow_logs AS v WHERE (bitAnd(tcp_flags, 18)) = 2 AND start >= 5 AND x = 'a\'b\\'`)
	f("SELECT CAST(floor(start / 3600) AS BIGINT), stddev_pop(x), quantile_cont(b, 0.5) FROM t", nil,
		"SELECT CAST(floor(start / 3600) AS Nullable(Int64)), stddevPop(x), quantile(0.5)(b) FROM t")
	f("SELECT count(DISTINCT dstport) FROM vpc_flow_logs v GROUP BY srcaddr", nil,
		"SELECT count(DISTINCT dstport) FROM fh.vpc_flow_logs v GROUP BY srcaddr")
	// Positional GROUP BY / ORDER BY become the items they name (18.16
	// takes GROUP BY 1 for a constant); subqueries keep their own lists.
	f(`SELECT ("start" - "start" % 300) AS t, coalesce(action, '-') AS a, count(*) FROM t GROUP BY 1, 2 ORDER BY 3 DESC, 1`, nil,
		`SELECT ("start" - "start" % 300) AS t, coalesce(action, '-') AS a, count() FROM t GROUP BY t, a ORDER BY (count()) DESC, t`)
	f("SELECT DISTINCT srcaddr, x FROM (SELECT srcaddr, count(*) AS x FROM t GROUP BY 1) AS s ORDER BY 2 DESC LIMIT 10", nil,
		"SELECT DISTINCT srcaddr, x FROM (SELECT srcaddr, count() AS x FROM t GROUP BY srcaddr) AS s ORDER BY x DESC LIMIT 10")
	f("SELECT srcaddr, count(*) FROM t GROUP BY srcaddr ORDER BY 2 DESC, 1 LIMIT 5", nil,
		"SELECT srcaddr, count() FROM t GROUP BY srcaddr ORDER BY (count()) DESC, srcaddr LIMIT 5")
	// Functions 18.16 lacks or types it refuses.
	f("SELECT concat_ws(' ', a, coalesce(b, '-')), split_part(srcaddr, '.', 2) FROM t WHERE date > current_date - INTERVAL '7' DAY", nil,
		"SELECT concat(ifNull(a, ''), ' ', ifNull(coalesce(b, '-'), '')), if(isNull(srcaddr), NULL, splitByString('.', assumeNotNull(srcaddr))[2]) FROM t WHERE date > today() - INTERVAL '7' DAY")
	f("SELECT count(*) FILTER (WHERE action = 'REJECT'), sum(bytes) FILTER (WHERE dstport = 22) FROM t", nil,
		"SELECT countIf(action = 'REJECT'), sumIf(bytes, dstport = 22) FROM t")
	// Insights' bin(): epoch-aligned buckets like DuckDB's time_bucket.
	f("SELECT time_bucket(INTERVAL '5 minutes', ts_start), time_bucket(INTERVAL '1 month', ts_start) FROM t", nil,
		"SELECT toDateTime(intDiv(toUInt32(ts_start), 300) * 300, 'UTC'), toDateTime(toStartOfMonth(ts_start), 'UTC') FROM t")
	if _, err := ToClickHouse("SELECT time_bucket(INTERVAL '2 months', ts_start) FROM t", nil, opts); err != nil {
		t.Errorf("time_bucket by 2 months: %v, want it passed on for ClickHouse to refuse", err)
	}
	opts.FlowFilter = func(ref string) string { return ref + ".start >= 1" }
	f("SELECT a FROM (SELECT a FROM vpc_flow_logs WHERE b = 1 GROUP BY a) AS s JOIN vpc_flow_logs AS v ON s.a = v.a ORDER BY a", nil,
		"SELECT a FROM (SELECT a FROM fh.vpc_flow_logs AS vpc_flow_logs WHERE (vpc_flow_logs.start >= 1) AND ( b = 1 ) GROUP BY a) AS s JOIN fh.vpc_flow_logs AS v ON s.a = v.a WHERE v.start >= 1 ORDER BY a")
	if _, err := ToClickHouse("SELECT ? FROM t", nil, opts); err == nil || !strings.Contains(err.Error(), "placeholders") {
		t.Errorf("missing parameter: err = %v", err)
	}
}
