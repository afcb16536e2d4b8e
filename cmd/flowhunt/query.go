package main

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flowhunt/flowhunt/internal/query"
)

func init() {
	register("query", "run SQL or CloudWatch Logs Insights (--insights) over the stored flow logs", runQuery)
}

func runQuery(ctx context.Context, args []string) error {
	fs := newFlags("query", `[flags] "QUERY"`)
	data := fs.String("data", "", "data directory (default $FLOWHUNT_DATA or ./flowhunt-data)")
	storeU := storeFlag(fs)
	since := fs.String("since", "", "only flows of the last D (24h, 7d); only those days' data is read")
	from := fs.String("from", "", "only flows starting at or after this time (RFC 3339 or YYYY-MM-DD)")
	to := fs.String("to", "", "only flows starting before this time (RFC 3339 or YYYY-MM-DD)")
	insights := fs.Bool("insights", false, "the query is CloudWatch Logs Insights, not SQL")
	output := fs.String("output", "", "output: table, csv or json (JSON Lines); default table on a terminal, json otherwise")
	timeout := fs.Duration("timeout", query.DefaultTimeout, "deadline of the query")
	maxRows := fs.Int("max-rows", query.DefaultMaxRows, "rows returned at most (-1: no cap)")
	explain := fs.Bool("sql", false, "print the translated SQL instead of running it")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one query argument (quote it), got %d", errUsage, len(pos))
	}
	q := pos[0]
	if *output == "" {
		*output = "json"
		if isTerminal(os.Stdout) {
			*output = "table"
		}
	}
	switch *output {
	case "table", "csv", "json":
	default:
		return fmt.Errorf("%w: --output %q: want table, csv or json", errUsage, *output)
	}
	var lo, hi time.Time
	if *since != "" {
		if *from != "" {
			return fmt.Errorf("%w: --since and --from exclude each other", errUsage)
		}
		d, err := parseAgeFlag(*since)
		if err != nil {
			return fmt.Errorf("%w: --since: %v", errUsage, err)
		}
		lo = time.Now().UTC().Add(-d)
	}
	if *from != "" {
		if lo, err = parseTimeFlag(*from); err != nil {
			return fmt.Errorf("%w: --from: %v", errUsage, err)
		}
	}
	if *to != "" {
		if hi, err = parseTimeFlag(*to); err != nil {
			return fmt.Errorf("%w: --to: %v", errUsage, err)
		}
	}

	var sql string
	if *insights {
		sql, err = query.TranslateInsights(q, query.DialectDuckDB)
	} else {
		sql, err = query.Translate(q, query.DialectDuckDB)
	}
	if err != nil {
		return err
	}
	if *explain && storeURL(*storeU) == "" {
		fmt.Println(sql)
		return nil
	}
	st, err := openStore(ctx, *storeU, *data, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	rd, err := st.OpenReader(ctx, readerOptions(lo, hi))
	if err != nil {
		return err
	}
	defer rd.Close()
	if *explain {
		// What the cluster runs: the store's own translation.
		if x, ok := rd.(interface {
			SQL(string, ...any) (string, error)
		}); ok {
			if sql, err = x.SQL(sql); err != nil {
				return err
			}
		}
		fmt.Println(sql)
		return nil
	}
	start := time.Now()
	var res *query.Result
	lim := query.Limits{Timeout: *timeout, MaxRows: *maxRows}
	if *insights {
		res, err = query.RunInsights(ctx, rd, q, lim)
	} else {
		res, err = query.Run(ctx, rd, q, lim)
	}
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if err := writeResult(os.Stdout, res, *output); err != nil {
		return err
	}
	if *output == "table" || isTerminal(os.Stderr) {
		note := ""
		if res.Truncated {
			note = fmt.Sprintf(" (cut at --max-rows %d)", *maxRows)
		}
		fmt.Fprintf(os.Stderr, "%d rows%s in %s\n", len(res.Rows), note, elapsed.Round(time.Millisecond))
	}
	return nil
}

// writeResult prints a result as an aligned table, CSV with a header, or
// JSON Lines (one object per row, keys in column order).
func writeResult(w io.Writer, res *query.Result, output string) error {
	dates := dateColumns(res)
	cellText := func(v any, null string, col int) string {
		if t, ok := v.(time.Time); ok && dates[col] {
			return t.UTC().Format("2006-01-02")
		}
		return cellText(v, null)
	}
	switch output {
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(res.Columns); err != nil {
			return err
		}
		rec := make([]string, len(res.Columns))
		for _, row := range res.Rows {
			for i, v := range row {
				rec[i] = cellText(v, "", i)
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	case "json":
		var b []byte
		for _, row := range res.Rows {
			b = append(b[:0], '{')
			for i, v := range row {
				if i > 0 {
					b = append(b, ',')
				}
				k, _ := json.Marshal(res.Columns[i])
				b = append(b, k...)
				b = append(b, ':')
				val, err := json.Marshal(jsonValue(v))
				if err != nil {
					return fmt.Errorf("cannot encode column %s: %w", res.Columns[i], err)
				}
				b = append(b, val...)
			}
			b = append(b, '}', '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(res.Columns, "\t"))
	for _, row := range res.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = cellText(v, "NULL", i)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// dateColumns marks the columns whose times are all midnight: DATE
// columns, printed without a time of day.
func dateColumns(res *query.Result) []bool {
	out := make([]bool, len(res.Columns))
	for i := range out {
		seen := false
		out[i] = true
		for _, row := range res.Rows {
			t, ok := row[i].(time.Time)
			if !ok {
				continue
			}
			seen = true
			if t.UTC() != t.UTC().Truncate(24*time.Hour) {
				out[i] = false
				break
			}
		}
		out[i] = out[i] && seen
	}
	return out
}

// cellText renders one value for table and CSV output.
func cellText(v any, null string) string {
	switch x := v.(type) {
	case nil:
		return null
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05")
	case []byte:
		return hex.EncodeToString(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// jsonValue makes a value JSON-friendly: times in RFC 3339, bytes in hex.
func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return hex.EncodeToString(x)
	}
	return v
}
