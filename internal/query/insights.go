package query

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/flowhunt/flowhunt/internal/flowlog"
)

// Insights fields that are not plain columns.
var insightsGenerated = map[string]string{
	"@timestamp":     "ts_start",
	"@logstream":     "interface_id",
	"logstream":      "interface_id", // AWS's own sample writes it without '@'
	"@ingestiontime": "ts_end",
}

// messageSQL rebuilds @message, the record text of the default format
// (version 2 fields), from the columns: NULL prints as '-', as AWS writes it.
var messageSQL = func() string {
	var parts []string
	for _, f := range flowlog.DefaultLayout.Fields {
		parts = append(parts, fmt.Sprintf("coalesce(CAST(%s AS VARCHAR), '-')", quoteIdent(f.Column())))
	}
	return "concat_ws(' ', " + strings.Join(parts, ", ") + ")"
}()

// TranslateInsights translates a CloudWatch Logs Insights query over VPC
// flow logs (fields, filter, stats … by bin(), sort, limit, parse, dedup,
// display) into one SQL query over vpc_flow_logs for dialect d. Discovered
// field names (srcAddr, interfaceId, @timestamp, @message …) resolve to the
// canonical columns. Errors point at the position in q.
func TranslateInsights(q string, d Dialect) (string, error) {
	toks, err := tokenize(q, lexInsights)
	if err != nil {
		return "", err
	}
	p := &iparser{src: q, toks: toks, d: d, cur: "vpc_flow_logs"}
	if err := p.query(); err != nil {
		return "", err
	}
	return p.build(), nil
}

type outItem struct{ sql, name string }

// iparser parses an Insights pipeline and builds its SQL as a chain of
// common table expressions, one per command that changes the rows.
type iparser struct {
	src  string
	toks []Token
	i    int
	d    Dialect

	stages     []string // stage bodies, nested as subqueries
	cur        string   // relation the next stage reads
	created    []string // names of fields created by fields/parse/stats
	afterStats bool     // only the stats outputs are in scope
	groups     int      // number of group columns of the last stats
	fields     []outItem
	display    []outItem
	order      []string // ORDER BY keys over cur
	limit      int
	aggOK      bool // aggregates allowed in the expression being parsed
}

func (p *iparser) peek() Token { return p.toks[p.i] }
func (p *iparser) next() Token {
	t := p.toks[p.i]
	if t.Kind != KindEOF {
		p.i++
	}
	return t
}

func (p *iparser) errf(t Token, format string, args ...any) error {
	return errAt("Insights", p.src, t.Pos, format, args...)
}

func (p *iparser) accept(kw string) bool {
	if p.peek().Is(kw) {
		p.i++
		return true
	}
	return false
}

func (p *iparser) expect(kw string) error {
	if !p.accept(kw) {
		return p.errf(p.peek(), "expected %q", kw)
	}
	return nil
}

func (p *iparser) query() error {
	if p.peek().Kind == KindEOF {
		return p.errf(p.peek(), "empty query")
	}
	for {
		if err := p.command(); err != nil {
			return err
		}
		t := p.peek()
		if t.Kind == KindEOF {
			return nil
		}
		if !t.Is("|") {
			return p.errf(t, "expected '|' or the end of the query")
		}
		p.i++
	}
}

// addStage makes sql the relation the next command reads. Stages nest as
// subqueries in FROM rather than chain as common table expressions: each
// reads the one before exactly once, so the two are the same query, and
// ClickHouse 18.16 has no CTEs.
func (p *iparser) addStage(sql string) {
	p.stages = append(p.stages, sql)
	p.cur = fmt.Sprintf("(%s) AS s%d", sql, len(p.stages))
}

func (p *iparser) command() error {
	t := p.next()
	if t.Kind != KindIdent {
		return p.errf(t, "expected a command (fields, filter, stats, sort, limit, parse, dedup, display)")
	}
	switch strings.ToLower(t.Text) {
	case "fields":
		items, err := p.items(true)
		if err != nil {
			return err
		}
		var extra []string
		for _, it := range items {
			if it.name != "" && it.sql != "" && !p.isPlainRef(it) {
				extra = append(extra, fmt.Sprintf("%s AS %s", it.sql, quoteIdent(it.name)))
				p.created = append(p.created, it.name)
			}
		}
		if len(extra) > 0 {
			p.addStage(fmt.Sprintf("SELECT *, %s FROM %s", strings.Join(extra, ", "), p.cur))
		}
		for i, it := range items {
			if !p.isPlainRef(it) {
				items[i].sql = quoteIdent(it.name)
			}
		}
		p.fields = items
	case "display":
		items, err := p.items(true)
		if err != nil {
			return err
		}
		p.display = items
	case "filter":
		e, err := p.expr()
		if err != nil {
			return err
		}
		p.addStage(fmt.Sprintf("SELECT * FROM %s WHERE %s", p.cur, e.sql))
	case "stats":
		return p.stats()
	case "sort":
		var keys []string
		for {
			e, err := p.expr()
			if err != nil {
				return err
			}
			dir := " ASC"
			if p.accept("desc") {
				dir = " DESC"
			} else {
				p.accept("asc")
			}
			keys = append(keys, e.sql+dir+" NULLS LAST")
			if !p.accept(",") {
				break
			}
		}
		p.order = keys
	case "limit", "head":
		n := p.next()
		v, err := strconv.Atoi(n.Text)
		if n.Kind != KindNumber || err != nil || v < 0 {
			return p.errf(n, "limit needs a whole number")
		}
		p.addStage(fmt.Sprintf("SELECT * FROM %s ORDER BY %s LIMIT %d", p.cur, p.orderBy(), v))
		p.limit = v
	case "dedup":
		var keys, nulls []string
		for {
			e, err := p.expr()
			if err != nil {
				return err
			}
			keys = append(keys, e.sql)
			nulls = append(nulls, e.sql+" IS NULL")
			if !p.accept(",") {
				break
			}
		}
		p.addStage(fmt.Sprintf("SELECT * FROM %s QUALIFY row_number() OVER (PARTITION BY %s ORDER BY %s) = 1 OR %s",
			p.cur, strings.Join(keys, ", "), p.orderBy(), strings.Join(nulls, " OR ")))
	case "parse":
		return p.parse()
	case "pattern", "diff", "unmask", "anomaly", "filterindex", "unnest", "lookup", "join", "tail", "source":
		return p.errf(t, "the Insights command %q is not supported", t.Text)
	default:
		return p.errf(t, "unknown command %q (fields, filter, stats, sort, limit, parse, dedup, display)", t.Text)
	}
	return nil
}

// orderBy is the current ordering: the last sort, else @timestamp
// descending (Insights' default) before stats, else the group columns.
// orderBy returns the ORDER BY keys of the current stage: the sort
// command's keys, then the default order as a tie-break, so that a limit
// cutting through equal values returns the same rows on every run and on
// every store (Insights itself leaves the order of ties unspecified).
func (p *iparser) orderBy() string {
	var def []string
	switch {
	case !p.afterStats:
		def = []string{"ts_start DESC"}
	case p.groups == 0:
		def = []string{"1"}
	default:
		for i := 0; i < p.groups; i++ {
			def = append(def, quoteIdent(p.created[i])+" ASC NULLS LAST")
		}
	}
	if len(p.order) == 0 {
		return strings.Join(def, ", ")
	}
	keys := append([]string(nil), p.order...)
	if p.afterStats && p.groups == 0 {
		return strings.Join(keys, ", ")
	}
	return strings.Join(append(keys, def...), ", ")
}

func (p *iparser) isPlainRef(it outItem) bool {
	return it.name == "" || it.sql == p.refSQL(it.name)
}

// items parses "expr [as name], …".
func (p *iparser) items(allowExpr bool) ([]outItem, error) {
	var out []outItem
	for {
		start := p.peek()
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		name := strings.TrimSpace(p.src[start.Pos:p.toks[p.i-1].End])
		if e.field != "" {
			name = e.field
		}
		if p.accept("as") {
			n := p.next()
			if !isName(n) {
				return nil, p.errf(n, "expected a field name after 'as'")
			}
			name = n.Text
		}
		out = append(out, outItem{sql: e.sql, name: name})
		if !p.accept(",") {
			return out, nil
		}
	}
}

func isName(t Token) bool { return t.Kind == KindIdent || t.Kind == KindBacktick }

func (p *iparser) stats() error {
	var aggs, groups []outItem
	for {
		start := p.peek()
		e, err := p.exprAgg(true)
		if err != nil {
			return err
		}
		name := strings.TrimSpace(p.src[start.Pos:p.toks[p.i-1].End])
		if p.accept("as") {
			n := p.next()
			if !isName(n) {
				return p.errf(n, "expected a field name after 'as'")
			}
			name = n.Text
		}
		aggs = append(aggs, outItem{sql: e.sql, name: name})
		if !p.accept(",") {
			break
		}
	}
	if p.accept("by") {
		items, err := p.items(true)
		if err != nil {
			return err
		}
		groups = items
	}
	var sel, by []string
	var created []string
	for _, g := range groups {
		sel = append(sel, fmt.Sprintf("%s AS %s", g.sql, quoteIdent(g.name)))
		// The expression, not its position: ClickHouse 18.16 takes
		// GROUP BY 1 for a constant.
		by = append(by, g.sql)
		created = append(created, g.name)
	}
	for _, a := range aggs {
		sel = append(sel, fmt.Sprintf("%s AS %s", a.sql, quoteIdent(a.name)))
		created = append(created, a.name)
	}
	q := fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), p.cur)
	if len(by) > 0 {
		q += " GROUP BY " + strings.Join(by, ", ")
	}
	p.addStage(q)
	p.created = created
	p.afterStats = true
	p.groups = len(groups)
	p.fields, p.display, p.order = nil, nil, nil
	return nil
}

func (p *iparser) parse() error {
	src := outItem{sql: messageSQL, name: "@message"}
	if t := p.peek(); isName(t) && !t.Is("as") {
		e, err := p.primary()
		if err != nil {
			return err
		}
		src.sql = e.sql
	}
	pat := p.next()
	var re string
	var names []string
	switch pat.Kind {
	case KindString:
		// A glob: '*' captures, everything else is literal.
		var b strings.Builder
		parts := strings.Split(pat.Text, "*")
		for i, part := range parts {
			b.WriteString(regexp.QuoteMeta(part))
			if i < len(parts)-1 {
				if i == len(parts)-2 && parts[len(parts)-1] == "" {
					b.WriteString("(.*)")
				} else {
					b.WriteString("(.*?)")
				}
			}
		}
		re = b.String()
		if len(parts) < 2 {
			return p.errf(pat, "a parse glob needs at least one '*'")
		}
		if err := p.expect("as"); err != nil {
			return err
		}
		for {
			n := p.next()
			if !isName(n) {
				return p.errf(n, "expected a field name")
			}
			names = append(names, n.Text)
			if !p.accept(",") {
				break
			}
		}
		if len(names) != len(parts)-1 {
			return p.errf(pat, "the glob has %d '*' but %d names follow 'as'", len(parts)-1, len(names))
		}
	case KindRegex:
		var err error
		re, names, err = namedGroups(pat.Text)
		if err != nil {
			return p.errf(pat, "%v", err)
		}
		if len(names) == 0 {
			return p.errf(pat, "a parse regex needs named groups (?<name>…)")
		}
	default:
		return p.errf(pat, "parse needs a glob string or a /regex/")
	}
	if _, err := regexp.Compile(re); err != nil {
		return p.errf(pat, "cannot compile pattern: %v", err)
	}
	var extra []string
	for i, n := range names {
		if n == "" {
			continue
		}
		extra = append(extra, fmt.Sprintf("CASE WHEN regexp_matches(%s, %s) THEN regexp_extract(%s, %s, %d) END AS %s",
			src.sql, quoteString(re), src.sql, quoteString(re), i+1, quoteIdent(n)))
		p.created = append(p.created, n)
	}
	p.addStage(fmt.Sprintf("SELECT *, %s FROM %s", strings.Join(extra, ", "), p.cur))
	return nil
}

// namedGroups rewrites (?<name>…) as RE2's (?P<name>…) and lists the
// capturing groups in order ("" for unnamed ones).
func namedGroups(re string) (string, []string, error) {
	var b strings.Builder
	var names []string
	inClass := false
	for i := 0; i < len(re); i++ {
		c := re[i]
		switch {
		case c == '\\' && i+1 < len(re):
			b.WriteByte(c)
			b.WriteByte(re[i+1])
			i++
			continue
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
		case c == '(':
			rest := re[i+1:]
			switch {
			case strings.HasPrefix(rest, "?<") && !strings.HasPrefix(rest, "?<=") && !strings.HasPrefix(rest, "?<!"):
				end := strings.IndexByte(rest, '>')
				if end < 0 {
					return "", nil, fmt.Errorf("unterminated group name")
				}
				names = append(names, rest[2:end])
				b.WriteString("(?P<" + rest[2:end] + ">")
				i += end + 1
				continue
			case strings.HasPrefix(rest, "?P<"):
				end := strings.IndexByte(rest, '>')
				if end < 0 {
					return "", nil, fmt.Errorf("unterminated group name")
				}
				names = append(names, rest[3:end])
			case strings.HasPrefix(rest, "?"):
			default:
				names = append(names, "")
			}
		}
		b.WriteByte(c)
	}
	out := b.String()
	if _, err := regexp.Compile(out); err != nil {
		return "", nil, fmt.Errorf("cannot compile regex: %w", err)
	}
	return out, names, nil
}

// build assembles the final SQL.
func (p *iparser) build() string {
	var b strings.Builder
	items := p.display
	if items == nil {
		items = p.fields
	}
	var sel []string
	switch {
	case items != nil:
		for _, it := range items {
			sel = append(sel, fmt.Sprintf("%s AS %s", it.sql, quoteIdent(it.name)))
		}
	case p.afterStats:
		sel = []string{"*"}
	default:
		sel = []string{"ts_start AS \"@timestamp\"", messageSQL + " AS \"@message\""}
	}
	fmt.Fprintf(&b, "SELECT %s FROM %s ORDER BY %s", strings.Join(sel, ", "), p.cur, p.orderBy())
	if p.limit > 0 {
		fmt.Fprintf(&b, " LIMIT %d", p.limit)
	}
	return b.String()
}

// iexpr is a translated Insights expression.
type iexpr struct {
	sql   string
	field string // the field name when the expression is a plain field reference
	base  string // the canonical column when it is one
	str   bool   // a string literal (value in lit)
	lit   string
}

// refSQL resolves a field name in the current scope: fields created by
// fields/parse/stats first, then (before stats) the discovered VPC fields.
func (p *iparser) refSQL(name string) string {
	sql, _, _ := p.resolve(name)
	return sql
}

func (p *iparser) resolve(name string) (sql, base string, ok bool) {
	for i := len(p.created) - 1; i >= 0; i-- {
		if strings.EqualFold(p.created[i], name) {
			return quoteIdent(p.created[i]), "", true
		}
	}
	if p.afterStats {
		return "", "", false
	}
	l := strings.ToLower(name)
	if l == "@message" {
		return messageSQL, "", true
	}
	if c, ok := insightsGenerated[l]; ok {
		return c, c, true
	}
	if c, ok := columnAliases[l]; ok {
		return quoteIdent(c), c, true
	}
	if flowColumnNames[l] {
		return quoteIdent(l), l, true
	}
	return "", "", false
}

func (p *iparser) expr() (iexpr, error) { return p.exprAgg(false) }

// exprAgg parses an expression; aggregates are allowed when agg is set
// (stats).
func (p *iparser) exprAgg(agg bool) (iexpr, error) {
	save := p.aggOK
	p.aggOK = agg
	defer func() { p.aggOK = save }()
	return p.or()
}

func (p *iparser) or() (iexpr, error) {
	l, err := p.and()
	if err != nil {
		return l, err
	}
	for p.peek().Is("or") || p.peek().Is("||") {
		p.i++
		r, err := p.and()
		if err != nil {
			return r, err
		}
		l = iexpr{sql: "(" + l.sql + " OR " + r.sql + ")"}
	}
	return l, nil
}

func (p *iparser) and() (iexpr, error) {
	l, err := p.not()
	if err != nil {
		return l, err
	}
	for p.peek().Is("and") || p.peek().Is("&&") {
		p.i++
		r, err := p.not()
		if err != nil {
			return r, err
		}
		l = iexpr{sql: "(" + l.sql + " AND " + r.sql + ")"}
	}
	return l, nil
}

func (p *iparser) not() (iexpr, error) {
	if p.peek().Is("not") || p.peek().Is("!") {
		p.i++
		e, err := p.not()
		if err != nil {
			return e, err
		}
		return iexpr{sql: "(NOT " + e.sql + ")"}, nil
	}
	return p.cmp()
}

func (p *iparser) cmp() (iexpr, error) {
	l, err := p.add()
	if err != nil {
		return l, err
	}
	t := p.peek()
	negate := false
	if t.Is("not") && (p.toks[p.i+1].Is("like") || p.toks[p.i+1].Is("in")) {
		negate = true
		p.i++
		t = p.peek()
	}
	wrap := func(s string) iexpr {
		if negate {
			return iexpr{sql: "(NOT coalesce(" + s + ", FALSE))"}
		}
		return iexpr{sql: s}
	}
	switch {
	case t.Is("like"):
		p.i++
		pat := p.next()
		switch pat.Kind {
		case KindString:
			return wrap(fmt.Sprintf("contains(CAST(%s AS VARCHAR), %s)", l.sql, quoteString(pat.Text))), nil
		case KindRegex:
			re, _, err := namedGroups(pat.Text)
			if err != nil {
				return iexpr{}, p.errf(pat, "%v", err)
			}
			return wrap(fmt.Sprintf("regexp_matches(CAST(%s AS VARCHAR), %s)", l.sql, quoteString(re))), nil
		}
		return iexpr{}, p.errf(pat, "like needs a string or a /regex/")
	case t.Is("in"):
		p.i++
		open := p.next()
		if !open.Is("[") {
			return iexpr{}, p.errf(open, "in needs a list: [a, b, …]")
		}
		var vals []string
		for !p.peek().Is("]") {
			v, err := p.add()
			if err != nil {
				return v, err
			}
			vals = append(vals, v.sql)
			if !p.accept(",") {
				break
			}
		}
		if err := p.expect("]"); err != nil {
			return iexpr{}, err
		}
		if len(vals) == 0 {
			return wrap("FALSE"), nil
		}
		return wrap(fmt.Sprintf("(%s IN (%s))", l.sql, strings.Join(vals, ", "))), nil
	case t.Is("=~"):
		p.i++
		pat := p.next()
		if pat.Kind != KindRegex && pat.Kind != KindString {
			return iexpr{}, p.errf(pat, "=~ needs a /regex/")
		}
		re, _, err := namedGroups(pat.Text)
		if err != nil {
			return iexpr{}, p.errf(pat, "%v", err)
		}
		return iexpr{sql: fmt.Sprintf("regexp_matches(CAST(%s AS VARCHAR), %s)", l.sql, quoteString(re))}, nil
	}
	if negate {
		return iexpr{}, p.errf(t, "expected like or in after not")
	}
	for _, op := range []string{"=", "==", "!=", "<>", "<", "<=", ">", ">="} {
		if t.Is(op) {
			p.i++
			r, err := p.add()
			if err != nil {
				return r, err
			}
			sqlOp := op
			switch op {
			case "==":
				sqlOp = "="
			case "!=":
				sqlOp = "<>"
			}
			return iexpr{sql: fmt.Sprintf("(%s %s %s)", l.sql, sqlOp, r.sql)}, nil
		}
	}
	return l, nil
}

func (p *iparser) add() (iexpr, error) {
	l, err := p.mul()
	if err != nil {
		return l, err
	}
	for p.peek().Is("+") || p.peek().Is("-") {
		op := p.next().Text
		r, err := p.mul()
		if err != nil {
			return r, err
		}
		l = iexpr{sql: "(" + l.sql + " " + op + " " + r.sql + ")"}
	}
	return l, nil
}

func (p *iparser) mul() (iexpr, error) {
	l, err := p.pow()
	if err != nil {
		return l, err
	}
	for p.peek().Is("*") || p.peek().Is("/") || p.peek().Is("%") {
		op := p.next().Text
		r, err := p.pow()
		if err != nil {
			return r, err
		}
		if op == "/" {
			l = iexpr{sql: "(CAST(" + l.sql + " AS DOUBLE) / " + r.sql + ")"}
			continue
		}
		l = iexpr{sql: "(" + l.sql + " " + op + " " + r.sql + ")"}
	}
	return l, nil
}

func (p *iparser) pow() (iexpr, error) {
	l, err := p.unary()
	if err != nil {
		return l, err
	}
	if p.peek().Is("^") {
		p.i++
		r, err := p.pow()
		if err != nil {
			return r, err
		}
		l = iexpr{sql: "power(" + l.sql + ", " + r.sql + ")"}
	}
	return l, nil
}

func (p *iparser) unary() (iexpr, error) {
	if p.peek().Is("-") {
		p.i++
		e, err := p.unary()
		if err != nil {
			return e, err
		}
		return iexpr{sql: "(-" + e.sql + ")"}, nil
	}
	return p.primary()
}

func (p *iparser) primary() (iexpr, error) {
	t := p.next()
	switch t.Kind {
	case KindNumber:
		return iexpr{sql: t.Text}, nil
	case KindString:
		return iexpr{sql: quoteString(t.Text), str: true, lit: t.Text}, nil
	case KindRegex:
		return iexpr{sql: quoteString(t.Text), str: true, lit: t.Text}, nil
	case KindIdent, KindBacktick:
		if t.Kind == KindIdent && p.peek().Is("(") && p.peek().Pos == t.End {
			return p.call(t)
		}
		if t.Kind == KindIdent {
			switch strings.ToLower(t.Text) {
			case "true", "false", "null":
				return iexpr{sql: strings.ToUpper(t.Text)}, nil
			}
		}
		sql, base, ok := p.resolve(t.Text)
		if !ok {
			if p.afterStats {
				return iexpr{}, p.errf(t, "unknown field %q: after stats only %s are available", t.Text, strings.Join(p.created, ", "))
			}
			return iexpr{}, p.errf(t, "unknown field %q", t.Text)
		}
		return iexpr{sql: sql, field: t.Text, base: base}, nil
	case KindOp:
		if t.Is("(") {
			e, err := p.or()
			if err != nil {
				return e, err
			}
			if err := p.expect(")"); err != nil {
				return e, err
			}
			return iexpr{sql: "(" + e.sql + ")"}, nil
		}
	}
	return iexpr{}, p.errf(t, "expected a field, a value or a function, found %s %q", t.Kind, t.Text)
}

// duration reads a bin()/datefloor() period: 5m, 1h, 30s, 1d …
func (p *iparser) duration() (string, error) {
	n := p.next()
	if n.Kind != KindNumber {
		return "", p.errf(n, "expected a period such as 5m or 1h")
	}
	num := n.Text
	unit := "s"
	if u := p.peek(); u.Kind == KindIdent && u.Pos == n.End {
		unit = strings.ToLower(u.Text)
		p.i++
	}
	names := map[string]string{
		"ms": "millisecond", "msec": "millisecond", "millisecond": "millisecond",
		"s": "second", "sec": "second", "second": "second",
		"m": "minute", "min": "minute", "minute": "minute",
		"h": "hour", "hr": "hour", "hour": "hour",
		"d": "day", "day": "day", "w": "week", "week": "week",
		"mo": "month", "mon": "month", "month": "month",
		"q": "quarter", "qtr": "quarter", "quarter": "quarter",
		"y": "year", "yr": "year", "year": "year",
	}
	u, ok := names[unit]
	if !ok {
		u, ok = names[strings.TrimSuffix(unit, "s")]
	}
	if !ok {
		return "", p.errf(n, "unknown period unit %q", unit)
	}
	if u == "quarter" {
		v, _ := strconv.Atoi(num)
		num, u = strconv.Itoa(3*v), "month"
	}
	return fmt.Sprintf("INTERVAL '%s %s'", num, u), nil
}

// call translates a function call whose name is t.
func (p *iparser) call(t Token) (iexpr, error) {
	p.i++ // (
	name := strings.ToLower(t.Text)
	switch name {
	case "bin":
		d, err := p.duration()
		if err != nil {
			return iexpr{}, err
		}
		if err := p.expect(")"); err != nil {
			return iexpr{}, err
		}
		ts, _, ok := p.resolve("@timestamp")
		if !ok {
			return iexpr{}, p.errf(t, "bin() needs @timestamp, which is gone after stats")
		}
		return iexpr{sql: fmt.Sprintf("time_bucket(%s, %s)", d, ts)}, nil
	case "datefloor", "dateceil":
		e, err := p.or()
		if err != nil {
			return e, err
		}
		if err := p.expect(","); err != nil {
			return iexpr{}, err
		}
		d, err := p.duration()
		if err != nil {
			return iexpr{}, err
		}
		if err := p.expect(")"); err != nil {
			return iexpr{}, err
		}
		if name == "dateceil" {
			return iexpr{sql: fmt.Sprintf("(CASE WHEN time_bucket(%[1]s, %[2]s) = %[2]s THEN %[2]s ELSE time_bucket(%[1]s, %[2]s) + %[1]s END)", d, e.sql)}, nil
		}
		return iexpr{sql: fmt.Sprintf("time_bucket(%s, %s)", d, e.sql)}, nil
	}
	var args []iexpr
	if p.peek().Is("*") && p.toks[p.i+1].Is(")") {
		p.i++
		args = append(args, iexpr{sql: "*"})
	} else {
		for !p.peek().Is(")") {
			a, err := p.or()
			if err != nil {
				return a, err
			}
			args = append(args, a)
			if !p.accept(",") {
				break
			}
		}
	}
	if err := p.expect(")"); err != nil {
		return iexpr{}, err
	}
	argc := func(lo, hi int) error {
		if len(args) < lo || len(args) > hi {
			if lo == hi {
				return p.errf(t, "%s takes %d argument(s), not %d", t.Text, lo, len(args))
			}
			return p.errf(t, "%s takes %d to %d arguments, not %d", t.Text, lo, hi, len(args))
		}
		return nil
	}
	list := func() string {
		s := make([]string, len(args))
		for i, a := range args {
			s[i] = a.sql
		}
		return strings.Join(s, ", ")
	}
	one := func(tmpl string) (iexpr, error) {
		if err := argc(1, 1); err != nil {
			return iexpr{}, err
		}
		return iexpr{sql: fmt.Sprintf(tmpl, args[0].sql)}, nil
	}
	aggregate := func(tmpl string) (iexpr, error) {
		if !p.aggOK {
			return iexpr{}, p.errf(t, "%s is an aggregate: use it in stats", t.Text)
		}
		return one(tmpl)
	}
	ts := "ts_start"
	switch name {
	// Aggregates.
	case "count":
		if !p.aggOK {
			return iexpr{}, p.errf(t, "count is an aggregate: use it in stats")
		}
		if len(args) == 0 {
			return iexpr{sql: "count(*)"}, nil
		}
		return one("count(%s)")
	case "count_distinct":
		return aggregate("count(DISTINCT %s)")
	case "sum":
		return aggregate("sum(%s)")
	case "avg":
		return aggregate("avg(%s)")
	case "min", "sortsfirst":
		return aggregate("min(%s)")
	case "max", "sortslast":
		return aggregate("max(%s)")
	case "stddev":
		return aggregate("stddev_samp(%s)")
	case "earliest":
		return aggregate("arg_min(%s, " + ts + ")")
	case "latest":
		return aggregate("arg_max(%s, " + ts + ")")
	case "pct", "percentile":
		if !p.aggOK {
			return iexpr{}, p.errf(t, "pct is an aggregate: use it in stats")
		}
		if err := argc(2, 2); err != nil {
			return iexpr{}, err
		}
		return iexpr{sql: fmt.Sprintf("quantile_disc(%s, %s / 100.0)", args[0].sql, args[1].sql)}, nil
	// IP functions.
	case "isipinsubnet", "isipv4insubnet", "isipv6insubnet":
		if err := argc(2, 2); err != nil {
			return iexpr{}, err
		}
		if args[0].base != "" && args[1].str {
			pred, ok, err := ipFunctionPredicate(name, "", args[0].base, args[1].lit)
			if err != nil {
				return iexpr{}, p.errf(t, "%v", err)
			}
			if ok {
				return iexpr{sql: pred}, nil
			}
		}
		return iexpr{sql: fmt.Sprintf("%s(%s)", t.Text, list())}, nil
	case "is_private_ip", "isprivateip":
		if err := argc(1, 1); err != nil {
			return iexpr{}, err
		}
		if _, isIP := ipColumns[args[0].base]; isIP {
			return iexpr{sql: privatePredicate("", args[0].base)}, nil
		}
		return iexpr{sql: fmt.Sprintf("is_private_ip(%s)", args[0].sql)}, nil
	case "isvalidip", "isvalidipv4", "isvalidipv6":
		return one(t.Text + "(%s)")
	// General and string functions.
	case "ispresent":
		return one("(%s IS NOT NULL)")
	case "isempty":
		return one("(%[1]s IS NULL OR CAST(%[1]s AS VARCHAR) = '')")
	case "isblank":
		return one("(%[1]s IS NULL OR trim(CAST(%[1]s AS VARCHAR)) = '')")
	case "coalesce", "concat", "greatest", "least", "replace", "ltrim", "rtrim", "trim", "abs", "ceil", "floor", "sqrt":
		return iexpr{sql: fmt.Sprintf("%s(%s)", name, list())}, nil
	case "log":
		return one("ln(%s)")
	case "strlen":
		return one("length(CAST(%s AS VARCHAR))")
	case "toupper":
		return one("upper(%s)")
	case "tolower":
		return one("lower(%s)")
	case "strcontains":
		if err := argc(2, 2); err != nil {
			return iexpr{}, err
		}
		return iexpr{sql: fmt.Sprintf("CAST(contains(CAST(%s AS VARCHAR), %s) AS INTEGER)", args[0].sql, args[1].sql)}, nil
	case "substr":
		if err := argc(2, 3); err != nil {
			return iexpr{}, err
		}
		if len(args) == 2 {
			return iexpr{sql: fmt.Sprintf("substr(CAST(%s AS VARCHAR), (%s) + 1)", args[0].sql, args[1].sql)}, nil
		}
		return iexpr{sql: fmt.Sprintf("substr(CAST(%s AS VARCHAR), (%s) + 1, %s)", args[0].sql, args[1].sql, args[2].sql)}, nil
	case "frommillis":
		return one("make_timestamp(CAST(%s AS BIGINT) * 1000)")
	case "tomillis":
		return one("epoch_ms(%s)")
	}
	return iexpr{}, p.errf(t, "unknown function %q", t.Text)
}
