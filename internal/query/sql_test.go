package query

import (
	"errors"
	"strings"
	"testing"
)

func TestTranslate(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got, err := Translate(in, DialectDuckDB)
		if err != nil {
			t.Fatalf("Translate(%q): %v", in, err)
		}
		if got != want {
			t.Errorf("Translate(%q)\n got: %s\nwant: %s", in, got, want)
		}
		// Translating the translation changes nothing: Run may be handed
		// SQL that was already translated.
		again, err := Translate(got, DialectDuckDB)
		if err != nil || again != got {
			t.Errorf("Translate is not idempotent on %q: %q, %v", got, again, err)
		}
	}
	// The seed's queries: bare end, camelCase, HAVING on an alias.
	f("SELECT srcAddr, dstAddr, action, bytes, start, end\nFROM vpc_flow_logs\nWHERE action = 'REJECT'\nAND srcAddr LIKE '203.%';",
		"SELECT srcAddr, dstAddr, action, bytes, start, \"end\"\nFROM vpc_flow_logs\nWHERE action = 'REJECT'\nAND (src_ip4 BETWEEN 3405774848 AND 3422552063 AND srcaddr LIKE '203.%')")
	f("SELECT srcAddr, dstAddr, SUM(bytes) AS total_bytes FROM vpc_flow_logs GROUP BY srcAddr, dstAddr HAVING total_bytes > 100000000",
		"SELECT srcAddr, dstAddr, SUM(bytes) AS total_bytes FROM vpc_flow_logs GROUP BY srcAddr, dstAddr HAVING total_bytes > 100000000")
	f("SELECT end FROM t", `SELECT "end" FROM t`)
	f("SELECT end - start AS d FROM t ORDER BY end", `SELECT "end" - start AS d FROM t ORDER BY "end"`)
	f("SELECT CASE WHEN end > 5 THEN end ELSE start END AS x FROM t", `SELECT CASE WHEN "end" > 5 THEN "end" ELSE start END AS x FROM t`)
	f("SELECT CASE WHEN a THEN 1 END, t.end FROM t", `SELECT CASE WHEN a THEN 1 END, t."end" FROM t`)
	f("SELECT `end`, `date` FROM t", `SELECT "end", "date" FROM t`)
	f("SELECT interfaceId, logStatus, endTime FROM t", `SELECT interface_id, log_status, "end" FROM t`)
	f("SELECT accountId AS accountId FROM t", `SELECT account_id AS accountId FROM t`)
	f("SELECT day_of_week(date) AS day FROM t", `SELECT isodow(date) AS day FROM t`)
	f("SELECT to_iso8601(from_unixtime(start)) AS s, to_iso8601(from_unixtime(\"end\")) FROM t",
		`SELECT strftime(CAST(make_timestamp(CAST(round((start) * 1000000) AS BIGINT)) AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%gZ') AS s, strftime(CAST(make_timestamp(CAST(round(("end") * 1000000) AS BIGINT)) AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%gZ') FROM t`)
	f("SELECT * FROM t WHERE isIpv4InSubnet(srcAddr, '192.0.2.0/24')", `SELECT * FROM t WHERE coalesce(src_ip4 BETWEEN 3221225984 AND 3221226239, FALSE)`)
	f("SELECT * FROM t x WHERE isIpInSubnet(x.dstaddr, '2001:db8::/32')",
		`SELECT * FROM t x WHERE coalesce(x.dst_ip6 BETWEEN '\x20\x01\x0D\xB8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'::BLOB AND '\x20\x01\x0D\xB8\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF'::BLOB, FALSE)`)
	f("SELECT * FROM t WHERE isIpv6InSubnet(srcaddr, '10.0.0.0/8')", `SELECT * FROM t WHERE FALSE`)
	f("SELECT * FROM t WHERE isIpInSubnet(pkt_srcaddr, '10.0.0.0/8')", `SELECT * FROM t WHERE isIpInSubnet(pkt_srcaddr, '10.0.0.0/8')`)
	f("SELECT * FROM vpc_flow_logs WHERE day >= '2021/02/01' AND day < '2021/02/28' ORDER BY day ASC LIMIT 100",
		`SELECT * FROM vpc_flow_logs WHERE "date" >= DATE '2021-02-01' AND "date" < DATE '2021-02-28' ORDER BY strftime("date", '%Y/%m/%d') ASC LIMIT 100`)
	f("SELECT day_of_week(date) AS day, date FROM t WHERE date > current_date - interval '7' day ORDER BY day",
		"SELECT isodow(date) AS day, date FROM t WHERE date > current_date - interval '7' day ORDER BY day")
	f("SELECT -- comment\n1 /* c */ FROM t", "SELECT 1 FROM t")
}

func TestTranslateRefuses(t *testing.T) {
	f := func(in, wantMsg string) {
		t.Helper()
		_, err := Translate(in, DialectDuckDB)
		if err == nil {
			t.Fatalf("Translate(%q) succeeded, want refusal", in)
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("Translate(%q): %v, want ErrRefused", in, err)
		}
		if !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("Translate(%q): %q does not contain %q", in, err, wantMsg)
		}
	}
	f("SELECT * FROM read_csv('/etc/passwd')", "function read_csv is not allowed")
	f("SELECT * FROM '/etc/passwd'", "reading files is not allowed")
	f(`SELECT * FROM "/etc/passwd"`, "reading files is not allowed")
	f("COPY vpc_flow_logs TO '/tmp/x.csv'", "COPY statements are not allowed")
	f("ATTACH '/tmp/x.db' AS x", "ATTACH statements are not allowed")
	f("INSTALL httpfs", "INSTALL statements")
	f("LOAD httpfs", "LOAD statements")
	f("SET enable_external_access = true", "SET statements")
	f("PRAGMA database_list", "PRAGMA statements")
	f("SELECT 1; DROP TABLE vpc_flow_logs", "only one statement")
	f("SELECT 1; SELECT 2", "only one statement")
	f("WITH x AS (SELECT 1) INSERT INTO y SELECT * FROM x", "INSERT is not allowed")
	f("SELECT * FROM range(10)", "table function range is not allowed")
	f("SELECT * FROM vpc_flow_logs, glob('/etc/*')", "function glob is not allowed")
	f("SELECT getenv('HOME')", "function getenv is not allowed")
	f("VALUES (1)", "only SELECT")
	f("SELECT * FROM vpc_flow_logs JOIN read_parquet('x') USING (srcaddr)", "read_parquet")
}

func TestTranslateErrorPosition(t *testing.T) {
	_, err := Translate("SELECT 1\nFROM t;\n  SET x = 1", DialectDuckDB)
	var pe *RefusedError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want RefusedError", err)
	}
	if pe.Line != 3 || pe.Col != 3 {
		t.Errorf("position = line %d col %d, want line 3 col 3 (%v)", pe.Line, pe.Col, err)
	}
	if _, err := Translate("SELECT 'abc FROM t", DialectDuckDB); err == nil || !strings.Contains(err.Error(), "unterminated string at line 1 column 8") {
		t.Errorf("unterminated string: %v", err)
	}
}
