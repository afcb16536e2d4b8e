package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ClickHouseOptions tune ToClickHouse.
type ClickHouseOptions struct {
	// Tables maps the names queries use (vpc_flow_logs, rejects, side tables)
	// to the tables to read, e.g. "flowhunt"."vpc_flow_logs". Unlisted names
	// are left as written.
	Tables map[string]string
	// FlowFilter, when set, returns a condition ANDed into the WHERE of every
	// SELECT that reads vpc_flow_logs directly, given the name the SELECT
	// calls it by (its alias, else the table name); the reader's time range.
	FlowFilter func(ref string) string
}

// ToClickHouse rewrites one read-only query of flowhunt's dialect
// (DuckDB's, as Translate and the detectors write it) for ClickHouse,
// including the 18.x releases: parameters become quoted literals, DuckDB
// functions, casts and operators become ClickHouse's, identifiers keep
// their case. It covers what flowhunt's own queries use; a construct
// ClickHouse lacks (CTEs, window functions) is left as written and
// ClickHouse's error names it.
func ToClickHouse(sql string, args []any, opts ClickHouseOptions) (string, error) {
	tr, err := Translate(sql, DialectClickHouse)
	if err != nil {
		return "", err
	}
	toks, err := Tokenize(tr)
	if err != nil {
		return "", err
	}
	root, _, err := groupTokens(tr, toks, 0, "")
	if err != nil {
		return "", err
	}
	root = resolvePositions(root)
	c := &chWriter{src: tr, args: args, opts: opts}
	out, err := c.seq(root)
	if err != nil {
		return "", err
	}
	if c.arg != len(args) {
		return "", fmt.Errorf("cannot translate query: %d parameters for %d placeholders", len(args), c.arg)
	}
	return out, nil
}

// chNode is a token or a bracketed group of nodes.
type chNode struct {
	tok   Token
	open  string // "(" or "[" for a group
	kids  []chNode
	group bool
}

func groupTokens(src string, toks []Token, i int, close string) ([]chNode, int, error) {
	var out []chNode
	for ; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.Kind == KindEOF:
			if close != "" {
				return nil, 0, errAt("SQL", src, t.Pos, "unclosed parenthesis")
			}
			return out, i, nil
		case t.Kind == KindOp && (t.Text == "(" || t.Text == "["):
			want := ")"
			if t.Text == "[" {
				want = "]"
			}
			kids, j, err := groupTokens(src, toks, i+1, want)
			if err != nil {
				return nil, 0, err
			}
			out = append(out, chNode{tok: t, open: t.Text, kids: kids, group: true})
			i = j
		case t.Kind == KindOp && (t.Text == ")" || t.Text == "]"):
			if t.Text != close {
				return nil, 0, errAt("SQL", src, t.Pos, "unbalanced %q", t.Text)
			}
			return out, i, nil
		case t.Kind == KindOp && t.Text == ";":
			// Translate leaves at most trailing semicolons: drop them.
		default:
			out = append(out, chNode{tok: t})
		}
	}
	return out, i, nil
}

type chWriter struct {
	src  string
	args []any
	arg  int
	opts ClickHouseOptions
}

// piece is one rendered unit of a sequence: a primary expression, an
// operator or a keyword (kw holds the upper-cased bare word).
type piece struct {
	s  string
	kw string
}

var clauseWords = map[string]bool{"GROUP": true, "ORDER": true, "LIMIT": true, "HAVING": true, "UNION": true, "SETTINGS": true, "FORMAT": true, "EXCEPT": true, "INTERSECT": true, "OFFSET": true}

var fromEnd = map[string]bool{"WHERE": true, "JOIN": true, "LEFT": true, "RIGHT": true, "INNER": true, "FULL": true, "CROSS": true, "ON": true, "USING": true, "ANY": true, "ALL": true, "GLOBAL": true, "PREWHERE": true, "FINAL": true, "SAMPLE": true, "ARRAY": true}

// seq renders a sequence of nodes at one nesting level.
func (c *chWriter) seq(nodes []chNode) (string, error) {
	var ps []piece

	var refs []struct {
		at  int
		ref string
	}
	for i := 0; i < len(nodes); {
		n := nodes[i]
		if !n.group && n.tok.Kind == KindOp {
			switch n.tok.Text {
			case "&", "|", ">>", "<<", "//":
				if len(ps) == 0 {
					return "", errAt("SQL", c.src, n.tok.Pos, "operator %s without a left operand", n.tok.Text)
				}
				left := ps[len(ps)-1].s
				right, j, err := c.primary(nodes, i+1)
				if err != nil {
					return "", err
				}
				fn := map[string]string{"&": "bitAnd", "|": "bitOr", ">>": "bitShiftRight", "<<": "bitShiftLeft", "//": "intDiv"}[n.tok.Text]
				ps[len(ps)-1] = piece{s: fn + "(" + left + ", " + right + ")"}
				i = j
				continue
			case "::":
				if len(ps) == 0 {
					return "", errAt("SQL", c.src, n.tok.Pos, "cast without a value")
				}
				typ, j := castType(nodes, i+1)
				ps[len(ps)-1] = piece{s: "CAST(" + ps[len(ps)-1].s + " AS " + chType(typ) + ")"}
				i = j
				continue
			}
		}
		if !n.group && n.tok.Kind == KindIdent && n.tok.Is("ILIKE") {
			neg := false
			if len(ps) > 0 && ps[len(ps)-1].kw == "NOT" {
				neg = true
				ps = ps[:len(ps)-1]
			}
			if len(ps) == 0 {
				return "", errAt("SQL", c.src, n.tok.Pos, "ILIKE without a left operand")
			}
			left := ps[len(ps)-1].s
			right, j, err := c.primary(nodes, i+1)
			if err != nil {
				return "", err
			}
			s := "lower(" + left + ") LIKE lower(" + right + ")"
			if neg {
				s = "NOT (" + s + ")"
			}
			ps[len(ps)-1] = piece{s: s}
			i = j
			continue
		}
		if !n.group && n.tok.Kind == KindIdent && (n.tok.Is("FROM") || n.tok.Is("JOIN")) && i+1 < len(nodes) {
			ps = append(ps, piece{s: n.tok.Text, kw: n.tok.Upper()})
			t := nodes[i+1]
			if !t.group && (t.tok.Kind == KindIdent || t.tok.Kind == KindQuoted) && (i+2 >= len(nodes) || !(nodes[i+2].group || (!nodes[i+2].group && nodes[i+2].tok.Is(".")))) {
				name := strings.ToLower(t.tok.Text)
				if q, ok := c.opts.Tables[name]; ok {
					ref := name
					k := i + 2
					if k < len(nodes) && !nodes[k].group && nodes[k].tok.Is("AS") {
						k++
					}
					if k < len(nodes) && !nodes[k].group && (nodes[k].tok.Kind == KindIdent || nodes[k].tok.Kind == KindQuoted) && !fromEnd[nodes[k].tok.Upper()] && !clauseWords[nodes[k].tok.Upper()] {
						ref = nodes[k].tok.Text
					} else {
						q += " AS " + name
					}
					if name == "vpc_flow_logs" {
						refs = append(refs, struct {
							at  int
							ref string
						}{len(ps), ref})
					}
					ps = append(ps, piece{s: q})
					i += 2
					continue
				}
			}
			i++
			continue
		}
		if !n.group && n.tok.Kind == KindIdent && (n.tok.Is("CURRENT_DATE") || n.tok.Is("CURRENT_TIMESTAMP")) && (i+1 >= len(nodes) || !nodes[i+1].group) {
			// Athena's and DuckDB's niladic date functions.
			v := "today()"
			if n.tok.Is("CURRENT_TIMESTAMP") {
				v = "now()"
			}
			ps = append(ps, piece{s: v})
			i++
			continue
		}
		if !n.group && n.tok.Kind == KindIdent && (n.tok.Is("TRUE") || n.tok.Is("FALSE")) {
			v := "1"
			if n.tok.Is("FALSE") {
				v = "0"
			}
			ps = append(ps, piece{s: v})
			i++
			continue
		}
		if !n.group && n.tok.Kind == KindIdent && (n.tok.Is("DATE") || n.tok.Is("TIMESTAMP")) && i+1 < len(nodes) && !nodes[i+1].group && nodes[i+1].tok.Kind == KindString {
			fn := "toDate"
			if n.tok.Is("TIMESTAMP") {
				fn = "toDateTime"
			}
			v := nodes[i+1].tok.Text
			if fn == "toDateTime" && len(v) > 19 {
				v = v[:19] // ClickHouse 18 DateTime has seconds
			}
			ps = append(ps, piece{s: fn + "(" + chString(v) + ")"})
			i += 2
			continue
		}
		if isPrimaryStart(n) {
			s, j, err := c.primary(nodes, i)
			if err != nil {
				return "", err
			}
			// agg(x) FILTER (WHERE c) is aggIf(x, c) in ClickHouse.
			if j+1 < len(nodes) && !nodes[j].group && nodes[j].tok.Kind == KindIdent && nodes[j].tok.Is("FILTER") &&
				nodes[j+1].group && len(nodes[j+1].kids) > 0 && !nodes[j+1].kids[0].group && nodes[j+1].kids[0].tok.Is("WHERE") {
				cond, err := c.seq(nodes[j+1].kids[1:])
				if err != nil {
					return "", err
				}
				if k := strings.IndexByte(s, '('); k > 0 && strings.HasSuffix(s, ")") && !strings.Contains(s[:k], " ") {
					inner := s[k+1 : len(s)-1]
					if inner == "" {
						s = s[:k] + "If(" + cond + ")"
					} else {
						s = s[:k] + "If(" + inner + ", " + cond + ")"
					}
					j += 2
				}
			}
			kw := ""
			if j == i+1 && !n.group && n.tok.Kind == KindIdent {
				kw = n.tok.Upper()
			}
			ps = append(ps, piece{s: s, kw: kw})
			i = j
			continue
		}
		ps = append(ps, piece{s: n.tok.Text})
		i++
	}
	if c.opts.FlowFilter != nil && len(refs) > 0 {
		ps = c.restrict(ps, refs)
	}
	var b strings.Builder
	for k, p := range ps {
		if k > 0 && p.s != "," {
			b.WriteByte(' ')
		}
		b.WriteString(p.s)
	}
	return b.String(), nil
}

// restrict adds the reader's time range to each SELECT of ps reading the
// flow table, at this nesting level.
func (c *chWriter) restrict(ps []piece, refs []struct {
	at  int
	ref string
}) []piece {
	// Work backwards so indexes stay valid.
	for r := len(refs) - 1; r >= 0; r-- {
		at, cond := refs[r].at, c.opts.FlowFilter(refs[r].ref)
		end := len(ps)
		where := -1
		for k := at + 1; k < len(ps); k++ {
			if ps[k].kw == "WHERE" && where < 0 {
				where = k
			}
			if clauseWords[ps[k].kw] || ps[k].kw == "SELECT" {
				end = k
				break
			}
		}
		var out []piece
		if where >= 0 && where < end {
			out = append(out, ps[:where+1]...)
			out = append(out, piece{s: "(" + cond + ") AND ("})
			out = append(out, ps[where+1:end]...)
			out = append(out, piece{s: ")"})
		} else {
			out = append(out, ps[:end]...)
			out = append(out, piece{s: "WHERE " + cond})
		}
		ps = append(out, ps[end:]...)
	}
	return ps
}

func isPrimaryStart(n chNode) bool {
	if n.group {
		return true
	}
	switch n.tok.Kind {
	case KindIdent, KindQuoted, KindBacktick, KindString, KindNumber, KindParam:
		return true
	}
	return false
}

// primary renders the primary expression starting at nodes[i]: a literal,
// a parameter, a (qualified) name, a call, a parenthesised group, with
// array subscripts; it returns the index after it.
func (c *chWriter) primary(nodes []chNode, i int) (string, int, error) {
	if i >= len(nodes) {
		return "", i, fmt.Errorf("cannot translate query: expression expected at its end")
	}
	n := nodes[i]
	var s string
	switch {
	case n.group:
		inner, err := c.seq(n.kids)
		if err != nil {
			return "", 0, err
		}
		s = n.open + inner + closeOf(n.open)
		i++
	case n.tok.Kind == KindString:
		s = chString(n.tok.Text)
		i++
	case n.tok.Kind == KindNumber:
		s = n.tok.Text
		i++
	case n.tok.Kind == KindParam:
		if c.arg >= len(c.args) {
			return "", 0, errAt("SQL", c.src, n.tok.Pos, "more placeholders than the %d parameters given", len(c.args))
		}
		v, err := chLiteral(c.args[c.arg])
		if err != nil {
			return "", 0, errAt("SQL", c.src, n.tok.Pos, "%v", err)
		}
		c.arg++
		s = v
		i++
	case n.tok.Kind == KindOp && n.tok.Text == "-":
		r, j, err := c.primary(nodes, i+1)
		if err != nil {
			return "", 0, err
		}
		return "-" + r, j, nil
	case n.tok.Kind == KindIdent && i+1 < len(nodes) && nodes[i+1].group && nodes[i+1].open == "(" && !notCall[n.tok.Upper()]:
		call, err := c.call(n.tok, nodes[i+1].kids)
		if err != nil {
			return "", 0, err
		}
		s = call
		i += 2
	case n.tok.Kind == KindIdent || n.tok.Kind == KindQuoted || n.tok.Kind == KindBacktick:
		s = chIdent(n.tok)
		i++
		for i+1 < len(nodes) && !nodes[i].group && nodes[i].tok.Is(".") && !nodes[i+1].group {
			if nodes[i+1].tok.Is("*") {
				s += ".*"
			} else {
				s += "." + chIdent(nodes[i+1].tok)
			}
			i += 2
		}
	default:
		return n.tok.Text, i + 1, nil
	}
	for i < len(nodes) && nodes[i].group && nodes[i].open == "[" {
		inner, err := c.seq(nodes[i].kids)
		if err != nil {
			return "", 0, err
		}
		s += "[" + inner + "]"
		i++
	}
	return s, i, nil
}

// notCall are words that may precede a parenthesis without calling it.
var notCall = map[string]bool{
	"WHERE": true, "AND": true, "OR": true, "NOT": true, "IN": true, "ON": true, "FROM": true, "JOIN": true,
	"AS": true, "SELECT": true, "HAVING": true, "BY": true, "WHEN": true, "THEN": true, "ELSE": true,
	"USING": true, "OVER": true, "VALUES": true, "IS": true, "LIKE": true, "BETWEEN": true, "CASE": true,
	"END": true, "UNION": true, "ALL": true, "DISTINCT": true, "LIMIT": true, "EXISTS": true, "ANY": true,
	"INTERVAL": true, "WITH": true, "ILIKE": true, "OFFSET": true, "GLOBAL": true,
}

func closeOf(open string) string {
	if open == "[" {
		return "]"
	}
	return ")"
}

func chIdent(t Token) string {
	switch t.Kind {
	case KindQuoted, KindBacktick:
		return quoteIdent(t.Text)
	}
	return t.Text
}

// chString quotes a string literal for ClickHouse, where a backslash
// escapes (it does not in DuckDB).
func chString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}

// chLiteral renders a query parameter as a literal: ClickHouse 18's HTTP
// interface has no bound parameters, so this is the one place values enter
// ClickHouse SQL text.
func chLiteral(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "NULL", nil
	case string:
		return chString(x), nil
	case []byte:
		return chString(string(x)), nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case int:
		return strconv.Itoa(x), nil
	case int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x), nil
	case float32:
		return chFloat(float64(x))
	case float64:
		return chFloat(x)
	case time.Time:
		return "toDateTime(" + strconv.FormatInt(x.Unix(), 10) + ")", nil
	case fmt.Stringer:
		return chString(x.String()), nil
	}
	return "", fmt.Errorf("cannot pass parameter of type %T", v)
}

func chFloat(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("cannot pass parameter %v", f)
	}
	return strconv.FormatFloat(f, 'g', -1, 64), nil
}

// castType reads a type name (with an optional (…) suffix) at nodes[i].
func castType(nodes []chNode, i int) (string, int) {
	if i >= len(nodes) {
		return "", i
	}
	t := nodes[i].tok.Text
	i++
	if i < len(nodes) && nodes[i].group {
		i++ // DECIMAL(18,3) and friends: the mapping drops the arguments
	}
	return t, i
}

// chType maps a DuckDB type name to a Nullable ClickHouse type (a CAST of
// NULL to a plain type fails in ClickHouse).
func chType(t string) string {
	base := ""
	switch strings.ToUpper(t) {
	case "VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR":
		base = "String"
	case "BIGINT", "INT8", "LONG", "HUGEINT", "INT64":
		base = "Int64"
	case "INTEGER", "INT", "INT4", "SIGNED", "INT32":
		base = "Int32"
	case "SMALLINT", "INT2", "SHORT":
		base = "Int16"
	case "TINYINT", "INT1":
		base = "Int8"
	case "UBIGINT":
		base = "UInt64"
	case "UINTEGER":
		base = "UInt32"
	case "DOUBLE", "FLOAT8", "REAL", "FLOAT", "FLOAT4", "DECIMAL", "NUMERIC":
		base = "Float64"
	case "TIMESTAMP", "DATETIME", "TIMESTAMPTZ":
		base = "DateTime"
	case "DATE":
		base = "Date"
	case "BOOLEAN", "BOOL":
		base = "UInt8"
	default:
		return t
	}
	return "Nullable(" + base + ")"
}

// chRenames are DuckDB functions whose ClickHouse name differs and whose
// arguments carry over unchanged.
var chRenames = map[string]string{
	"stddev_pop": "stddevPop", "stddev_samp": "stddevSamp", "stddev": "stddevSamp",
	"var_pop": "varPop", "var_samp": "varSamp", "variance": "varSamp",
	"approx_count_distinct": "uniq", "any_value": "any", "arbitrary": "any", "first": "any",
	"list": "groupArray", "array_agg": "groupArray", "epoch": "toUnixTimestamp",
	"to_timestamp": "toDateTime", "isodow": "toDayOfWeek", "dayofweek": "toDayOfWeek",
	"dayofyear": "toDayOfYear", "hour": "toHour", "minute": "toMinute", "second": "toSecond",
	"year": "toYear", "month": "toMonth", "day": "toDayOfMonth", "dayofmonth": "toDayOfMonth",
	"regexp_matches": "match", "len": "length", "strlen": "length", "mod": "modulo",
	"ifnull": "ifNull", "nullif": "nullIf", "count_if": "countIf", "countif": "countIf",
	"bool_or": "max", "bool_and": "min", "median": "median", "ln": "log",
	"lower": "lower", "upper": "upper", "length": "length", "substring": "substring", "substr": "substring",
	"coalesce": "coalesce", "greatest": "greatest", "least": "least", "abs": "abs",
	"round": "round", "floor": "floor", "ceil": "ceil", "ceiling": "ceil", "concat": "concat",
	"sum": "sum", "min": "min", "max": "max", "avg": "avg", "count": "count", "mean": "avg",
	"sqrt": "sqrt", "pow": "pow", "power": "pow", "exp": "exp", "log10": "log10", "log2": "log2",
	"uniq": "uniq", "now": "now", "trim": "trimBoth", "ltrim": "trimLeft", "rtrim": "trimRight",
	"starts_with": "startsWith", "ends_with": "endsWith", "replace": "replaceAll", "md5": "MD5",
	"corr": "corr", "covar_pop": "covarPop", "covar_samp": "covarSamp", "reverse": "reverse",
}

// call renders a function call name(args).
func (c *chWriter) call(name Token, kids []chNode) (string, error) {
	fn := strings.ToLower(name.Text)
	switch fn {
	case "cast", "try_cast":
		as := -1
		for k := len(kids) - 1; k >= 0; k-- {
			if !kids[k].group && kids[k].tok.Is("AS") {
				as = k
				break
			}
		}
		if as < 0 {
			return "", errAt("SQL", c.src, name.Pos, "CAST without AS")
		}
		expr, err := c.seq(kids[:as])
		if err != nil {
			return "", err
		}
		typ, _ := castType(kids, as+1)
		ct := chType(typ)
		if fn == "try_cast" && strings.HasPrefix(ct, "Nullable(") {
			base := strings.TrimSuffix(strings.TrimPrefix(ct, "Nullable("), ")")
			if base != "String" {
				return "to" + base + "OrNull(toString(" + expr + "))", nil
			}
		}
		return "CAST(" + expr + " AS " + ct + ")", nil
	case "count":
		if len(kids) == 1 && !kids[0].group && kids[0].tok.Is("*") {
			return "count()", nil
		}
	case "extract":
		// EXTRACT(part FROM x)
		if len(kids) >= 3 && !kids[1].group && kids[1].tok.Is("FROM") {
			x, err := c.seq(kids[2:])
			if err != nil {
				return "", err
			}
			part := strings.ToLower(kids[0].tok.Text)
			if f, ok := chRenames[part]; ok {
				return f + "(" + x + ")", nil
			}
			if part == "epoch" {
				return "toUnixTimestamp(" + x + ")", nil
			}
		}
	}
	args, err := c.callArgs(kids)
	if err != nil {
		return "", err
	}
	distinct := len(kids) > 0 && !kids[0].group && kids[0].tok.Is("DISTINCT")
	switch fn {
	case "quantile", "quantile_cont", "approx_quantile", "percentile_cont", "quantile_disc":
		if len(args) == 2 {
			f := "quantile"
			if fn == "quantile_disc" {
				f = "quantileExact"
			}
			return f + "(" + args[1] + ")(" + args[0] + ")", nil
		}
	case "concat_ws":
		// 18.16 has no concat_ws. NULL arguments become '' here (DuckDB
		// skips them with their separator); Insights' @message, the one
		// flowhunt writer, coalesces every field first.
		if len(args) >= 2 {
			parts := make([]string, 0, 2*len(args))
			for k, a := range args[1:] {
				if k > 0 {
					parts = append(parts, args[0])
				}
				parts = append(parts, "ifNull("+a+", '')")
			}
			return "concat(" + strings.Join(parts, ", ") + ")", nil
		}
	case "split_part":
		if len(args) == 3 {
			// 18.16 has no Nullable(Array): split the value, keep NULL.
			return "if(isNull(" + args[0] + "), NULL, splitByString(" + args[1] + ", assumeNotNull(" + args[0] + "))[" + args[2] + "])", nil
		}
	case "contains":
		if len(args) == 2 {
			return "(position(" + args[0] + ", " + args[1] + ") > 0)", nil
		}
	case "regexp_full_match":
		if len(args) == 2 {
			return "match(" + args[0] + ", concat('^(?:', " + args[1] + ", ')$'))", nil
		}
	case "string_agg", "group_concat", "listagg":
		sep := "','"
		if len(args) == 2 {
			sep = args[1]
		}
		if len(args) >= 1 {
			return "arrayStringConcat(groupArray(" + args[0] + "), " + sep + ")", nil
		}
	case "make_timestamp":
		if len(args) == 1 {
			return "toDateTime(intDiv(toInt64(" + args[0] + "), 1000000))", nil
		}
	case "strftime":
		if len(args) == 2 {
			f := strings.NewReplacer(".%g", ".000", "%g", "000", "%f", "000000").Replace(args[1])
			return "formatDateTime(" + args[0] + ", " + f + ")", nil
		}
	case "date_trunc":
		if len(args) == 2 {
			unit := strings.Trim(strings.ToLower(args[0]), "'")
			f := map[string]string{"minute": "toStartOfMinute", "hour": "toStartOfHour", "day": "toStartOfDay", "week": "toMonday", "month": "toStartOfMonth", "year": "toStartOfYear"}[unit]
			if f != "" {
				return f + "(" + args[1] + ")", nil
			}
		}
	case "time_bucket":
		if len(args) == 2 {
			if f, ok := chTimeBucket(args[0], args[1]); ok {
				return f, nil
			}
		}
	case "regexp_extract":
		if len(args) >= 2 {
			return "extract(" + args[0] + ", " + args[1] + ")", nil
		}
	}
	out := name.Text
	if r, ok := chRenames[fn]; ok {
		out = r
	}
	prefix := ""
	if distinct {
		prefix = "DISTINCT "
		if len(args) > 0 {
			args[0] = strings.TrimSpace(strings.TrimPrefix(args[0], "DISTINCT"))
		}
	}
	return out + "(" + prefix + strings.Join(args, ", ") + ")", nil
}

// args renders the comma-separated arguments of a call.
func (c *chWriter) callArgs(kids []chNode) ([]string, error) {
	var out []string
	start := 0
	for k := 0; k <= len(kids); k++ {
		if k == len(kids) || (!kids[k].group && kids[k].tok.Is(",")) {
			if k > start {
				s, err := c.seq(kids[start:k])
				if err != nil {
					return nil, err
				}
				out = append(out, s)
			}
			start = k + 1
		}
	}
	return out, nil
}

// chTimeBucket renders DuckDB's time_bucket(INTERVAL 'N unit', ts), which
// Insights' bin() becomes. Fixed-length buckets count from the epoch as
// DuckDB's do (weeks excepted: DuckDB starts them on a Monday, so weeks go
// through toMonday); months, quarters and years use ClickHouse's own.
func chTimeBucket(interval, ts string) (string, bool) {
	iv, ok := strings.CutPrefix(strings.TrimSpace(interval), "INTERVAL")
	if !ok {
		return "", false
	}
	f := strings.Fields(strings.Trim(strings.TrimSpace(iv), "'"))
	if len(f) != 2 {
		return "", false
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 0 {
		return "", false
	}
	unit := strings.TrimSuffix(strings.ToLower(f[1]), "s")
	secs := map[string]int{"second": 1, "minute": 60, "hour": 3600, "day": 86400}[unit]
	switch {
	case secs > 0:
		s := strconv.Itoa(n * secs)
		return "toDateTime(intDiv(toUInt32(" + ts + "), " + s + ") * " + s + ", 'UTC')", true
	case unit == "week" && n == 1:
		return "toDateTime(toMonday(" + ts + "), 'UTC')", true
	case unit == "month" && n == 1:
		return "toDateTime(toStartOfMonth(" + ts + "), 'UTC')", true
	case unit == "month" && n == 3:
		return "toDateTime(toStartOfQuarter(" + ts + "), 'UTC')", true
	case unit == "year" && n == 1:
		return "toDateTime(toStartOfYear(" + ts + "), 'UTC')", true
	}
	return "", false
}

// resolvePositions replaces positional references in GROUP BY and ORDER BY
// (GROUP BY 1, 2 ORDER BY 3 DESC) by the select item they name: its alias
// when it has one, else a copy of its expression. ClickHouse 18.16 reads
// GROUP BY 1 as grouping by the constant 1 (and ORDER BY 1 as no order);
// current releases need enable_positional_arguments. Every bracketed
// group is resolved on its own, so subqueries keep their own lists.
func resolvePositions(nodes []chNode) []chNode {
	for i := range nodes {
		if nodes[i].group {
			nodes[i].kids = resolvePositions(nodes[i].kids)
		}
	}
	var items [][]chNode // select items of the current SELECT
	out := make([]chNode, 0, len(nodes))
	for i := 0; i < len(nodes); i++ {
		n := nodes[i]
		kw := !n.group && n.tok.Kind == KindIdent
		switch {
		case kw && n.tok.Is("SELECT"):
			items = selectItems(nodes, i+1)
		case kw && (n.tok.Is("GROUP") || n.tok.Is("ORDER")) && i+1 < len(nodes) && !nodes[i+1].group && nodes[i+1].tok.Is("BY"):
			out = append(out, n, nodes[i+1])
			i += 2
			start := true // at the start of an item
			for ; i < len(nodes); i++ {
				m := nodes[i]
				if !m.group && m.tok.Kind == KindIdent && clauseWords[strings.ToUpper(m.tok.Text)] {
					break
				}
				if !m.group && m.tok.Is(",") {
					out = append(out, m)
					start = true
					continue
				}
				if start && !m.group && m.tok.Kind == KindNumber && itemEnds(nodes, i+1) {
					if k, err := strconv.Atoi(m.tok.Text); err == nil && k >= 1 && k <= len(items) {
						out = append(out, itemRef(items[k-1], m.tok.Pos)...)
						start = false
						continue
					}
				}
				out = append(out, m)
				start = false
			}
			i--
			continue
		}
		out = append(out, n)
	}
	return out
}

// selectItems returns the items of the select list starting at nodes[i],
// split at top-level commas, up to FROM or a clause word.
func selectItems(nodes []chNode, i int) [][]chNode {
	if i < len(nodes) && !nodes[i].group && (nodes[i].tok.Is("DISTINCT") || nodes[i].tok.Is("ALL")) {
		i++
	}
	var items [][]chNode
	var cur []chNode
	for ; i < len(nodes); i++ {
		n := nodes[i]
		if !n.group && n.tok.Kind == KindIdent && (n.tok.Is("FROM") || clauseWords[strings.ToUpper(n.tok.Text)]) {
			break
		}
		if !n.group && n.tok.Is(",") {
			items = append(items, cur)
			cur = nil
			continue
		}
		cur = append(cur, n)
	}
	if len(cur) > 0 {
		items = append(items, cur)
	}
	return items
}

// itemEnds reports whether a GROUP BY / ORDER BY item ends at nodes[i]
// (after a number): a comma, the end, a clause word or ORDER BY's
// ASC/DESC/NULLS.
func itemEnds(nodes []chNode, i int) bool {
	if i >= len(nodes) {
		return true
	}
	n := nodes[i]
	if n.group {
		return false
	}
	if n.tok.Is(",") {
		return true
	}
	if n.tok.Kind != KindIdent {
		return false
	}
	w := strings.ToUpper(n.tok.Text)
	return clauseWords[w] || w == "ASC" || w == "DESC" || w == "NULLS"
}

// itemRef is what stands for a select item elsewhere in the query: its
// alias (… AS name), else its expression in parentheses.
func itemRef(item []chNode, pos int) []chNode {
	if k := len(item); k >= 2 && !item[k-2].group && item[k-2].tok.Is("AS") && !item[k-1].group {
		return []chNode{item[k-1]}
	}
	if len(item) == 1 {
		return item
	}
	return []chNode{{tok: Token{Kind: KindOp, Text: "(", Pos: pos}, open: "(", kids: item, group: true}}
}
