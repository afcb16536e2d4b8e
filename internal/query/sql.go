package query

import (
	"errors"
	"fmt"
	"strings"

	"github.com/flowhunt/flowhunt/internal/flowlog"
)

// Dialect is the SQL dialect a query is translated into.
type Dialect uint8

const (
	DialectDuckDB     Dialect = iota // the embedded store
	DialectClickHouse                // the scale-out store (identifiers only, for now)
	// DialectDuckDBPlain is DuckDB over a table of the AWS columns alone
	// (one loaded by read_csv, the benchmarks' anchor): the rewrites that
	// use flowhunt's derived columns (a LIKE of address octets as a range
	// of src_ip4) are left out.
	DialectDuckDBPlain
)

func (d Dialect) String() string {
	switch d {
	case DialectDuckDB:
		return "duckdb"
	case DialectClickHouse:
		return "clickhouse"
	case DialectDuckDBPlain:
		return "duckdb-plain"
	}
	return "unknown"
}

// ErrRefused marks a query refused by the sandbox rules (it writes, reads
// files, changes settings, or is more than one statement). Callers branch on
// it with errors.Is to answer 403-like rather than 400-like.
var ErrRefused = errors.New("query refused")

// RefusedError is a sandbox refusal located in the query text.
type RefusedError struct{ *PosError }

func (e *RefusedError) Unwrap() error { return ErrRefused }

func refuse(src string, pos int, format string, args ...any) error {
	pe := errAt("SQL", src, pos, format, args...)
	pe.Verb = "run"
	return &RefusedError{pe}
}

// TableFunctions lists the table functions a query may call in FROM. It is
// empty: users query the stored tables. A caller may add harmless ones
// (range, generate_series) before serving queries.
var TableFunctions = map[string]bool{}

// forbidden are statement keywords that write, change settings or reach
// outside the database. They are refused anywhere in a query, unless used as
// an alias (after AS) or qualified (after '.').
var forbidden = map[string]bool{
	"INSERT": true, "UPDATE": true, "DELETE": true, "MERGE": true, "UPSERT": true,
	"COPY": true, "ATTACH": true, "DETACH": true, "INSTALL": true, "LOAD": true,
	"SET": true, "RESET": true, "PRAGMA": true, "CALL": true, "EXPORT": true,
	"IMPORT": true, "CREATE": true, "DROP": true, "ALTER": true, "TRUNCATE": true,
	"VACUUM": true, "CHECKPOINT": true, "USE": true, "BEGIN": true, "COMMIT": true,
	"ROLLBACK": true, "ABORT": true, "GRANT": true, "REVOKE": true, "PREPARE": true,
	"EXECUTE": true, "DEALLOCATE": true,
}

// leading are the words a read query may start with.
var leading = map[string]bool{
	"SELECT": true, "WITH": true, "FROM": true, "DESCRIBE": true, "SHOW": true,
	"SUMMARIZE": true, "EXPLAIN": true, "TABLE": true,
}

// deniedFunction reports whether a function reads files, runs SQL text or
// reads the environment; such calls are refused wherever they appear.
func deniedFunction(name string) bool {
	n := strings.ToLower(name)
	for _, p := range []string{"read_", "parquet_", "sniff_", "iceberg_", "delta_", "sqlite_", "postgres_", "mysql_", "pragma_", "json_execute", "duckdb_"} {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	if strings.HasSuffix(n, "_scan") {
		return true
	}
	switch n {
	case "glob", "query", "query_table", "getenv", "load_extension", "checkpoint", "force_checkpoint", "which_secret", "current_setting":
		return true
	}
	return false
}

// columnAliases maps lower-cased alternative names of canonical columns to
// the column: Insights' camelCase discovered names (interfaceId, logStatus,
// startTime …) and AWS's hyphenated names are accepted in SQL too.
var columnAliases = map[string]string{}

// canonical column names, lower case.
var flowColumnNames = map[string]bool{}

func init() {
	for _, f := range flowlog.AllFields() {
		info := f.Info()
		flowColumnNames[info.Column] = true
		if l := strings.ToLower(info.Insights); l != info.Column {
			columnAliases[l] = info.Column
		}
	}
	for _, c := range []string{"date", "ts_start", "ts_end", "src_ip4", "dst_ip4", "src_ip6", "dst_ip6", "direction", "source_object", "source_line", "ingest_batch"} {
		flowColumnNames[c] = true
	}
}

// exprKeywords are words after which a value is expected: a bare END there
// is the column, not the end of a CASE.
var exprKeywords = map[string]bool{
	"SELECT": true, "WHERE": true, "AND": true, "OR": true, "NOT": true, "WHEN": true,
	"THEN": true, "ELSE": true, "BY": true, "HAVING": true, "ON": true, "DISTINCT": true,
	"BETWEEN": true, "IN": true, "IS": true, "LIKE": true, "ILIKE": true, "CASE": true,
	"QUALIFY": true, "ALL": true, "ANY": true, "SOME": true, "RETURNING": true, "USING": true,
	"INTERVAL": true, "SIMILAR": true, "GLOB": true,
}

// clauseEnd are words that end a FROM clause at the current nesting level.
var clauseEnd = map[string]bool{
	"WHERE": true, "GROUP": true, "HAVING": true, "ORDER": true, "LIMIT": true, "OFFSET": true,
	"QUALIFY": true, "WINDOW": true, "UNION": true, "EXCEPT": true, "INTERSECT": true,
	"SELECT": true, "ON": true, "USING": true,
}

// Translate checks that sql is one read-only statement over flowhunt's
// tables and rewrites it for dialect d: camelCase and Insights field names
// become canonical columns, a bare `end` column is quoted, `backquoted`
// identifiers become "quoted", Athena/Presto functions become DuckDB ones,
// and IP functions over stored address columns with literal CIDRs become
// integer range tests on the numeric address columns. Refusals wrap
// ErrRefused; every error names the position in sql.
func Translate(sql string, d Dialect) (string, error) {
	toks, err := Tokenize(sql)
	if err != nil {
		return "", err
	}
	if err := validate(sql, toks); err != nil {
		return "", err
	}
	// Drop trailing semicolons: exactly one statement remains.
	end := len(toks) - 1
	for end > 0 && toks[end-1].Is(";") {
		end--
	}
	t := &translator{src: sql, toks: toks, d: d, aliases: map[string]bool{}, flowOnly: flowOnly(toks)}
	for i := 1; i < len(toks); i++ {
		if toks[i-1].Is("AS") && (toks[i].Kind == KindIdent || toks[i].Kind == KindQuoted) {
			t.aliases[strings.ToLower(toks[i].Text)] = true
		}
	}
	var b strings.Builder
	if err := t.emit(&b, 0, end); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}

// validate enforces the sandbox rules on the token stream.
func validate(src string, toks []Token) error {
	if toks[0].Kind == KindEOF {
		return errAt("SQL", src, 0, "empty query")
	}
	first := toks[0]
	if !first.Is("(") && !leading[first.Upper()] {
		if first.Kind == KindIdent && forbidden[first.Upper()] {
			return refuse(src, first.Pos, "%s statements are not allowed: queries are read-only (SELECT or WITH … SELECT)", first.Upper())
		}
		return refuse(src, first.Pos, "only SELECT or WITH … SELECT queries are allowed, not %q", cut(first.Text, 32))
	}
	// Exactly one statement: semicolons only at the end.
	for i, tk := range toks {
		if tk.Is(";") {
			for _, rest := range toks[i+1:] {
				if rest.Kind != KindEOF && !rest.Is(";") {
					return refuse(src, rest.Pos, "only one statement is allowed")
				}
			}
			break
		}
	}
	// FROM positions: a string literal there is a file scan, a call is a
	// table function.
	type frame struct{ inFrom, expectTable bool }
	stack := []frame{{}}
	for i := 0; i < len(toks); i++ {
		tk := toks[i]
		var prev Token
		if i > 0 {
			prev = toks[i-1]
		}
		next := toks[min(i+1, len(toks)-1)]
		top := &stack[len(stack)-1]
		if tk.Kind == KindIdent && forbidden[tk.Upper()] && !prev.Is(".") && !prev.Is("AS") {
			return refuse(src, tk.Pos, "%s is not allowed: queries are read-only and cannot change settings, files or extensions", tk.Upper())
		}
		if tk.Kind == KindIdent && next.Is("(") && deniedFunction(tk.Text) && !prev.Is(".") {
			return refuse(src, tk.Pos, "function %s is not allowed: queries cannot read files, settings or the environment", tk.Text)
		}
		if top.expectTable {
			switch {
			case tk.Kind == KindString:
				return refuse(src, tk.Pos, "reading files is not allowed; query the tables (vpc_flow_logs …)")
			case tk.Kind == KindIdent && tk.Is("LATERAL"):
				continue
			case (tk.Kind == KindIdent || tk.Kind == KindQuoted || tk.Kind == KindBacktick) && next.Is("("):
				if !TableFunctions[strings.ToLower(tk.Text)] {
					return refuse(src, tk.Pos, "table function %s is not allowed; query the tables (vpc_flow_logs …)", tk.Text)
				}
				top.expectTable = false
			case tk.Kind == KindQuoted || tk.Kind == KindBacktick:
				if strings.ContainsAny(tk.Text, "/.\\:") {
					return refuse(src, tk.Pos, "reading files is not allowed; %q is not a table", cut(tk.Text, 64))
				}
				top.expectTable = false
			case tk.Kind == KindIdent || tk.Is("("):
				top.expectTable = false
			}
		}
		switch {
		case tk.Is("("):
			stack = append(stack, frame{})
		case tk.Is(")"):
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case tk.Is(","):
			if top.inFrom {
				top.expectTable = true
			}
		case tk.Kind == KindIdent:
			u := tk.Upper()
			switch {
			case u == "FROM" && !prev.Is("DISTINCT") && !prev.Is("IS"):
				top.inFrom, top.expectTable = true, true
			case u == "JOIN":
				top.inFrom, top.expectTable = true, true
			case clauseEnd[u]:
				if u == "ON" || u == "USING" {
					top.expectTable = false
				} else {
					top.inFrom, top.expectTable = false, false
				}
			}
		}
	}
	return nil
}

// translator rewrites a validated token stream.
type translator struct {
	src     string
	toks    []Token
	d       Dialect
	aliases map[string]bool // names the query defines with AS
	// flowOnly: one SELECT over vpc_flow_logs alone (no subquery, CTE,
	// union or join), so its unqualified address columns have their
	// numeric twins beside them.
	flowOnly bool
}

// flowOnly reports whether toks are one SELECT … FROM vpc_flow_logs with
// no other SELECT, FROM, JOIN or comma-separated table.
func flowOnly(toks []Token) bool {
	selects, froms := 0, 0
	inFrom := false
	for i, tk := range toks {
		if tk.Kind != KindIdent && !tk.Is(",") {
			continue
		}
		switch {
		case tk.Is("SELECT"):
			selects++
		case tk.Is("WITH"), tk.Is("JOIN"), tk.Is("UNION"), tk.Is("INTERSECT"), tk.Is("EXCEPT"):
			return false
		case tk.Is("FROM") && (i == 0 || !toks[i-1].Is("DISTINCT") && !toks[i-1].Is("IS")):
			froms++
			if i+1 >= len(toks) || !strings.EqualFold(toks[i+1].Text, "vpc_flow_logs") || toks[i+1].Kind != KindIdent {
				return false
			}
			inFrom = true
		case tk.Is("WHERE"), tk.Is("GROUP"), tk.Is("ORDER"), tk.Is("HAVING"), tk.Is("LIMIT"):
			inFrom = false
		case tk.Is(","):
			if inFrom {
				return false
			}
		}
	}
	return selects == 1 && froms == 1
}

// emit writes the translation of toks[from:to] to b.
func (t *translator) emit(b *strings.Builder, from, to int) error {
	for i := from; i < to; i++ {
		tk := t.toks[i]
		if i > from {
			gap := t.src[t.toks[i-1].End:tk.Pos]
			if strings.TrimSpace(gap) == "" {
				b.WriteString(gap)
			} else {
				b.WriteString(" ") // a comment: drop it
			}
		}
		var prev Token
		if i > from {
			prev = t.toks[i-1]
		}
		next := t.toks[i+1]
		switch tk.Kind {
		case KindIdent:
			if next.Is("(") && !prev.Is(".") {
				j, err := t.call(b, i)
				if err != nil {
					return err
				}
				if j > i {
					i = j - 1
					continue
				}
			}
			if strings.EqualFold(tk.Text, "end") {
				if t.endIsColumn(prev) {
					b.WriteString(`"end"`)
				} else {
					b.WriteString(tk.Text)
				}
				continue
			}
			if !next.Is("(") && !prev.Is("AS") && strings.EqualFold(tk.Text, "day") && !t.aliases["day"] &&
				!next.Is("FROM") && prev.Kind != KindString && prev.Kind != KindNumber && !prev.Is(".") {
				i += t.day(b, i)
				continue
			}
			if j, ok := t.likeAddress(b, i, prev); ok {
				i = j - 1
				continue
			}
			if !next.Is("(") && !prev.Is("AS") {
				if col, ok := columnAliases[strings.ToLower(tk.Text)]; ok {
					b.WriteString(t.ident(col))
					continue
				}
				if t.d == DialectClickHouse && flowColumnNames[strings.ToLower(tk.Text)] {
					b.WriteString(strings.ToLower(tk.Text))
					continue
				}
			}
			b.WriteString(t.src[tk.Pos:tk.End])
		case KindQuoted, KindBacktick:
			name := tk.Text
			if col, ok := columnAliases[strings.ToLower(name)]; ok && !prev.Is("AS") {
				name = col
			}
			b.WriteString(quoteIdent(name))
		default:
			b.WriteString(t.src[tk.Pos:tk.End])
		}
	}
	return nil
}

// likeAddress rewrites "srcaddr LIKE '203.%'" (an unqualified address
// column, a pattern of whole octets and '.%') as
// "(src_ip4 BETWEEN lo AND hi AND srcaddr LIKE '203.%')": the same rows
// (the text matches only IPv4 addresses of that range, and the AND keeps
// LIKE's answer for IPv6 and NULL, under NOT too), but the integer range
// is a filter the scan applies first, pruning row groups by their
// min/max and sparing most rows the string match. It returns the index
// after the pattern.
func (t *translator) likeAddress(b *strings.Builder, i int, prev Token) (int, bool) {
	if !t.flowOnly || t.d == DialectDuckDBPlain || prev.Is(".") || i+3 >= len(t.toks) || !t.toks[i+1].Is("LIKE") || t.toks[i+2].Kind != KindString || t.toks[i+3].Is("ESCAPE") {
		return i, false
	}
	_, col, ok := t.addressColumn([2]int{i, i + 1})
	if !ok {
		return i, false
	}
	p, ok := likePrefix(t.toks[i+2].Text)
	if !ok {
		return i, false
	}
	// Already rewritten ("src_ip4 BETWEEN lo AND hi AND srcaddr LIKE …"):
	// translating a translation changes nothing.
	if i >= 6 && strings.EqualFold(t.toks[i-6].Text, ipColumns[col][0]) && t.toks[i-5].Is("BETWEEN") && t.toks[i-1].Is("AND") {
		return i, false
	}
	lo, hi := Range4(p)
	fmt.Fprintf(b, "(%s BETWEEN %d AND %d AND %s LIKE %s)", t.ident(ipColumns[col][0]), lo, hi, t.ident(col), t.src[t.toks[i+2].Pos:t.toks[i+2].End])
	return i + 3, true
}

// endIsColumn decides whether a bare END is the column "end" or closes a
// CASE: a CASE's END follows a complete expression; the column follows an
// operator, a comma, an opening parenthesis or a keyword expecting a value.
func (t *translator) endIsColumn(prev Token) bool {
	switch prev.Kind {
	case KindEOF:
		return true
	case KindIdent:
		return exprKeywords[prev.Upper()]
	case KindNumber, KindString, KindQuoted, KindBacktick, KindParam:
		return false
	case KindOp:
		return prev.Text != ")" && prev.Text != "]" && prev.Text != "*"
	}
	return true
}

func (t *translator) ident(name string) string {
	if name == "end" || name == "date" {
		return quoteIdent(name)
	}
	return name
}

// quoteIdent double-quotes an identifier, doubling embedded quotes. It is
// the one place identifiers are quoted.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// quoteString writes a SQL string literal.
func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// args splits the call whose '(' is toks[open] into argument token ranges;
// it returns the ranges and the index after the closing ')'.
func (t *translator) args(open int) ([][2]int, int, error) {
	depth := 0
	var out [][2]int
	start := open + 1
	for i := open; i < len(t.toks); i++ {
		tk := t.toks[i]
		switch {
		case tk.Kind == KindEOF:
			return nil, 0, errAt("SQL", t.src, t.toks[open].Pos, "unclosed parenthesis")
		case tk.Is("(") || tk.Is("["):
			depth++
		case tk.Is(")") || tk.Is("]"):
			depth--
			if depth == 0 {
				if i > start {
					out = append(out, [2]int{start, i})
				}
				return out, i + 1, nil
			}
		case tk.Is(",") && depth == 1:
			out = append(out, [2]int{start, i})
			start = i + 1
		}
	}
	return nil, 0, errAt("SQL", t.src, t.toks[open].Pos, "unclosed parenthesis")
}

// text translates an argument range.
func (t *translator) text(r [2]int) (string, error) {
	var b strings.Builder
	if err := t.emit(&b, r[0], r[1]); err != nil {
		return "", err
	}
	return b.String(), nil
}

// addressColumn reports whether the range is a plain reference to a stored
// address column (srcaddr, t.dstAddr …), returning qualifier and column.
func (t *translator) addressColumn(r [2]int) (qual, col string, ok bool) {
	toks := t.toks[r[0]:r[1]]
	name := func(tk Token) (string, bool) {
		if tk.Kind != KindIdent && tk.Kind != KindQuoted && tk.Kind != KindBacktick {
			return "", false
		}
		n := strings.ToLower(tk.Text)
		if c, ok := columnAliases[n]; ok {
			n = c
		}
		_, isIP := ipColumns[n]
		return n, isIP
	}
	switch len(toks) {
	case 1:
		n, ok := name(toks[0])
		return "", n, ok
	case 3:
		if toks[1].Is(".") && (toks[0].Kind == KindIdent || toks[0].Kind == KindQuoted) {
			n, ok := name(toks[2])
			return t.src[toks[0].Pos:toks[0].End] + ".", n, ok
		}
	}
	return "", "", false
}

// call translates a function call starting at toks[i] (the name). It
// returns the index after the call, or i when the call is left as written.
func (t *translator) call(b *strings.Builder, i int) (int, error) {
	name := strings.ToLower(t.toks[i].Text)
	var tmpl string
	switch name {
	case "isipinsubnet", "isipv4insubnet", "isipv6insubnet":
		args, next, err := t.args(i + 1)
		if err != nil {
			return 0, err
		}
		if len(args) == 2 && args[1][1]-args[1][0] == 1 && t.toks[args[1][0]].Kind == KindString {
			if qual, col, ok := t.addressColumn(args[0]); ok {
				pred, ok, err := ipFunctionPredicate(name, qual, col, t.toks[args[1][0]].Text)
				if err != nil {
					return 0, errAt("SQL", t.src, t.toks[args[1][0]].Pos, "%v", err)
				}
				if ok {
					b.WriteString(pred)
					return next, nil
				}
			}
		}
		return i, nil
	case "is_private_ip", "isprivateip":
		args, next, err := t.args(i + 1)
		if err != nil {
			return 0, err
		}
		if len(args) == 1 {
			if qual, col, ok := t.addressColumn(args[0]); ok {
				b.WriteString(privatePredicate(qual, col))
				return next, nil
			}
		}
		return i, nil
	case "day_of_week", "dow":
		tmpl = "isodow({})"
	case "day_of_year", "doy":
		tmpl = "dayofyear({})"
	case "from_unixtime":
		tmpl = "make_timestamp(CAST(round(({}) * 1000000) AS BIGINT))"
	case "to_unixtime":
		tmpl = "epoch({})"
	case "to_iso8601":
		tmpl = "strftime(CAST({} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%gZ')"
	case "approx_distinct":
		tmpl = "approx_count_distinct({})"
	case "approx_percentile":
		tmpl = "approx_quantile({})"
	case "arbitrary":
		tmpl = "any_value({})"
	case "regexp_like":
		tmpl = "regexp_matches({})"
	case "cardinality":
		tmpl = "len({})"
	default:
		return i, nil
	}
	args, next, err := t.args(i + 1)
	if err != nil {
		return 0, err
	}
	parts := make([]string, len(args))
	for k, a := range args {
		if parts[k], err = t.text(a); err != nil {
			return 0, err
		}
	}
	b.WriteString(strings.Replace(tmpl, "{}", strings.Join(parts, ", "), 1))
	return next, nil
}

// day translates the partition column of AWS's partition-projection table,
// day = 'yyyy/MM/dd', into the date column. A comparison with a literal
// becomes a comparison of dates, so it prunes partitions; any other use
// becomes the formatted date. It returns how many tokens after toks[i] it
// consumed.
func (t *translator) day(b *strings.Builder, i int) int {
	op, lit := t.toks[i+1], t.toks[min(i+2, len(t.toks)-1)]
	if op.Kind == KindOp && lit.Kind == KindString && isSlashDate(lit.Text) {
		switch op.Text {
		case "=", "<", "<=", ">", ">=", "<>", "!=":
			b.WriteString(`"date" ` + op.Text + " DATE '" + strings.ReplaceAll(lit.Text, "/", "-") + "'")
			return 2
		}
	}
	b.WriteString(`strftime("date", '%Y/%m/%d')`)
	return 0
}

// isSlashDate matches yyyy/MM/dd.
func isSlashDate(s string) bool {
	if len(s) != 10 || s[4] != '/' || s[7] != '/' {
		return false
	}
	for i, c := range []byte(s) {
		if i != 4 && i != 7 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
