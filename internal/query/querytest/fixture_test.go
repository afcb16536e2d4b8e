package querytest

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/query"
	"github.com/flowhunt/flowhunt/internal/store"
)

// querier adapts *sql.DB to store.Querier.
type querier struct{ db *sql.DB }

func (q querier) Query(ctx context.Context, s string, args ...any) (store.Rows, error) {
	rows, err := q.db.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// openFixture loads testdata/flows.log into an in-memory vpc_flow_logs
// table with the canonical columns, defines flowhunt's macros and locks the
// connection the way the store's Reader does.
func openFixture(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	cols := store.FlowColumns()
	var defs, marks []string
	for _, c := range cols {
		defs = append(defs, fmt.Sprintf("%q %s", c.Name, c.Type))
		marks = append(marks, "?")
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE vpc_flow_logs ("+strings.Join(defs, ", ")+")"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/flows.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	header := strings.Fields(sc.Text())
	insert := "INSERT INTO vpc_flow_logs VALUES (" + strings.Join(marks, ", ") + ")"
	line := int64(1)
	for sc.Scan() {
		line++
		vals := map[string]any{}
		for i, v := range strings.Fields(sc.Text()) {
			fld, ok := flowlog.LookupField(header[i])
			if !ok {
				t.Fatalf("flows.log: unknown field %q", header[i])
			}
			if v == "-" {
				continue
			}
			if fld.Kind().IsInt() {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatalf("flows.log line %d: %v", line, err)
				}
				vals[fld.Column()] = n
			} else {
				vals[fld.Column()] = v
			}
		}
		if s, ok := vals["start"].(int64); ok {
			ts := time.Unix(s, 0).UTC()
			vals[store.ColTsStart] = ts
			vals[store.ColDate] = ts.Truncate(24 * time.Hour)
		}
		if e, ok := vals["end"].(int64); ok {
			vals[store.ColTsEnd] = time.Unix(e, 0).UTC()
		}
		internal := 0
		for _, side := range []string{"src", "dst"} {
			s, _ := vals[side+"addr"].(string)
			a, err := netip.ParseAddr(s)
			if err != nil {
				continue
			}
			if a.Is4() {
				b := a.As4()
				vals[side+"_ip4"] = int64(binary.BigEndian.Uint32(b[:]))
			} else {
				b := a.As16()
				vals[side+"_ip6"] = b[:]
			}
			if a.IsPrivate() {
				internal |= map[string]int{"src": 1, "dst": 2}[side]
			}
		}
		if _, ok := vals["srcaddr"]; ok {
			vals[store.ColDirection] = []string{store.DirExternal, store.DirOutbound, store.DirInbound, store.DirInternal}[internal]
		}
		vals[store.ColSourceObject] = "flows.log"
		vals[store.ColSourceLine] = line
		vals[store.ColIngestBatch] = "fixture"
		args := make([]any, len(cols))
		for i, c := range cols {
			args[i] = vals[c.Name]
		}
		if _, err := db.ExecContext(ctx, insert, args...); err != nil {
			t.Fatalf("flows.log line %d: %v", line, err)
		}
	}
	for _, s := range query.DuckDBSetup() {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("setup %q: %v", s, err)
		}
	}
	dir := t.TempDir()
	for _, s := range []string{
		"SET allowed_directories=['" + dir + "']",
		"SET enable_external_access=false",
		"SET lock_configuration=true",
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("sandbox %q: %v", s, err)
		}
	}
	return db
}

// format renders a result as one line per row, cells joined by " | ", in
// a stable, readable form.
func format(res *query.Result, sorted bool) string {
	lines := make([]string, len(res.Rows))
	for i, row := range res.Rows {
		cells := make([]string, len(row))
		for j, v := range row {
			cells[j] = cell(v)
		}
		lines[i] = strings.Join(cells, " | ")
	}
	if sorted {
		sort.Strings(lines)
	}
	return strings.Join(append([]string{strings.Join(res.Columns, " | ")}, lines...), "\n")
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.UTC().Format("2006-01-02")
		}
		return x.UTC().Format("2006-01-02 15:04:05")
	case []byte:
		return fmt.Sprintf("%x", x)
	case float64:
		return strconv.FormatFloat(x, 'g', 10, 64)
	}
	return fmt.Sprint(v)
}
