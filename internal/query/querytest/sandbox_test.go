package querytest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/query"
)

// Escape attempts are refused by the validator with a clear error, and the
// same statements fail on the sandboxed connection itself, so a hole in
// the validator would not be enough to escape.
func TestSandboxEscapes(t *testing.T) {
	db := openFixture(t)
	ctx := context.Background()
	outside := filepath.Join(os.TempDir(), "flowhunt-escape-test.csv")
	os.Remove(outside)
	f := func(q, wantMsg string, engineBlocks bool) {
		t.Helper()
		_, err := query.Run(ctx, querier{db}, q, query.Limits{})
		if !errors.Is(err, query.ErrRefused) || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("Run(%q) = %v, want a refusal containing %q", q, err, wantMsg)
		}
		if !engineBlocks {
			return
		}
		if _, err := db.ExecContext(ctx, q); err == nil {
			t.Errorf("the sandboxed connection ran %q", q)
		}
	}
	f("SELECT * FROM read_csv('/etc/passwd')", "function read_csv is not allowed", true)
	f("SELECT * FROM read_text('/etc/passwd')", "function read_text is not allowed", true)
	f("SELECT * FROM '/etc/passwd'", "reading files is not allowed", true)
	f("COPY vpc_flow_logs TO '"+outside+"'", "COPY statements are not allowed", true)
	f("ATTACH '"+filepath.Join(os.TempDir(), "flowhunt-escape.db")+"' AS x", "ATTACH statements are not allowed", true)
	f("INSTALL httpfs", "INSTALL statements are not allowed", true)
	f("LOAD httpfs", "LOAD statements are not allowed", true)
	f("SET enable_external_access = true", "SET statements are not allowed", true)
	f("RESET lock_configuration", "RESET statements are not allowed", true)
	f("SELECT 1; SET enable_external_access = true", "only one statement is allowed", true)
	f("PRAGMA enable_profiling", "PRAGMA statements are not allowed", false)
	f("CREATE TABLE x AS SELECT 1", "CREATE statements are not allowed", false)
	f("DROP TABLE vpc_flow_logs", "DROP statements are not allowed", false)
	f("DELETE FROM vpc_flow_logs", "DELETE statements are not allowed", false)
	f("SELECT * FROM glob('/etc/*')", "function glob is not allowed", false)
	if _, err := os.Stat(outside); err == nil {
		t.Errorf("COPY wrote %s", outside)
	}
	// The table is intact after all that.
	res, err := query.Run(ctx, querier{db}, "SELECT count(*) FROM vpc_flow_logs", query.Limits{})
	if err != nil || res.Rows[0][0] != int64(37) {
		t.Errorf("count after escape attempts = %v, %v; want 37", res, err)
	}
}

func TestRunLimits(t *testing.T) {
	db := openFixture(t)
	ctx := context.Background()
	res, err := query.Run(ctx, querier{db}, "SELECT srcaddr FROM vpc_flow_logs ORDER BY start", query.Limits{MaxRows: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 5 || !res.Truncated {
		t.Errorf("MaxRows 5: %d rows, truncated %v; want 5, true", len(res.Rows), res.Truncated)
	}
	res, err = query.Run(ctx, querier{db}, "SELECT srcaddr FROM vpc_flow_logs", query.Limits{MaxRows: 37})
	if err != nil || len(res.Rows) != 37 || res.Truncated {
		t.Errorf("MaxRows 37 on 37 rows: %v rows, truncated %v, %v", len(res.Rows), res.Truncated, err)
	}
	// A query far longer than its deadline is cut and reported as such.
	slow := "SELECT count(*) FROM vpc_flow_logs a, vpc_flow_logs b, vpc_flow_logs c, vpc_flow_logs d, vpc_flow_logs e, vpc_flow_logs f WHERE a.bytes + b.bytes + c.bytes + d.bytes + e.bytes + f.bytes = 7"
	start := time.Now()
	_, err = query.Run(ctx, querier{db}, slow, query.Limits{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, query.ErrTimeout) {
		t.Errorf("slow query: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("slow query took %s despite a 50ms deadline", d)
	}
}

// Insights errors point at the position of the mistake.
func TestInsightsErrors(t *testing.T) {
	f := func(q, want string) {
		t.Helper()
		_, err := query.TranslateInsights(q, query.DialectDuckDB)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("TranslateInsights(%q) = %v, want an error containing %q", q, err, want)
		}
	}
	f("filter srcAdr = '1.2.3.4'", `unknown field "srcAdr" at line 1 column 8`)
	f("stats count(*) by srcAddr | filter bytes > 1", `unknown field "bytes": after stats only srcAddr, count(*) are available at line 1 column 36`)
	f("fields srcAddr\n| frobnicate", `unknown command "frobnicate" (fields, filter, stats, sort, limit, parse, dedup, display) at line 2 column 3`)
	f("filter sum(bytes) > 1", "sum is an aggregate: use it in stats at line 1 column 8")
	f("stats count(*) by bin(5x)", `unknown period unit "x"`)
	f("limit ten", "limit needs a whole number at line 1 column 7")
	f("filter srcAddr like", "like needs a string or a /regex/")
	f("parse @message 'a=* b=*' as a", "the glob has 2 '*' but 1 names follow 'as'")
	f("filter action = 'ACCEPT' srcAddr", "expected '|' or the end of the query at line 1 column 26")
}
