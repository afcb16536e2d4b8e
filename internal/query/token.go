// Package query is flowhunt's query front-end: it reads the SQL hunters
// already have (the seed's queries, AWS's Athena samples) and CloudWatch Logs
// Insights pipelines, checks that they only read, and translates them into
// the store's dialect over the canonical vpc_flow_logs table.
package query

import (
	"fmt"
	"strings"
)

// Kind is the lexical class of a token.
type Kind uint8

const (
	KindEOF      Kind = iota
	KindIdent         // bare word: keyword or identifier
	KindQuoted        // "quoted" identifier (Text holds the unquoted name)
	KindBacktick      // `backquoted` identifier (Text holds the unquoted name)
	KindString        // 'string' (Text holds the value, '' unescaped)
	KindNumber        // 12, 1.5, 1e3, 0x1f
	KindOp            // operators and punctuation: ( ) , ; . + - * / % = <> != <= >= || :: etc.
	KindParam         // ? or $1
	KindRegex         // /regex/ (Insights only)
)

func (k Kind) String() string {
	switch k {
	case KindEOF:
		return "end of query"
	case KindIdent:
		return "word"
	case KindQuoted, KindBacktick:
		return "quoted identifier"
	case KindString:
		return "string"
	case KindNumber:
		return "number"
	case KindOp:
		return "operator"
	case KindParam:
		return "parameter"
	case KindRegex:
		return "regex"
	}
	return "token"
}

// Token is one lexical unit of a query. Pos and End are byte offsets into
// the query text, so errors can point at the source and translators can
// copy untouched spans verbatim.
type Token struct {
	Kind Kind
	Text string // the value: unquoted identifier, unescaped string, operator text
	Pos  int
	End  int
}

// Upper returns the token text in upper case when it is a bare word, so
// keywords compare without regard to case.
func (t Token) Upper() string {
	if t.Kind != KindIdent {
		return ""
	}
	return strings.ToUpper(t.Text)
}

// Is reports whether t is the bare word kw (case-insensitive) or the
// operator kw.
func (t Token) Is(kw string) bool {
	switch t.Kind {
	case KindIdent:
		return strings.EqualFold(t.Text, kw)
	case KindOp:
		return t.Text == kw
	}
	return false
}

// PosError is a query error located in the query text.
type PosError struct {
	Pos    int    // byte offset
	Line   int    // 1-based
	Col    int    // 1-based, in bytes
	Msg    string // what is wrong
	Near   string // the query text around Pos
	Inside string // "SQL" or "Insights"
	Verb   string // "parse" (default) or "run" for sandbox refusals
}

func (e *PosError) Error() string {
	verb := e.Verb
	if verb == "" {
		verb = "parse"
	}
	if e.Near == "" {
		return fmt.Sprintf("cannot %s %s query: %s at line %d column %d", verb, e.Inside, e.Msg, e.Line, e.Col)
	}
	return fmt.Sprintf("cannot %s %s query: %s at line %d column %d, near %q", verb, e.Inside, e.Msg, e.Line, e.Col, e.Near)
}

// errAt builds a PosError for position pos of src.
func errAt(inside, src string, pos int, format string, args ...any) *PosError {
	if pos > len(src) {
		pos = len(src)
	}
	if pos < 0 {
		pos = 0
	}
	line, col := 1, 1
	for i := 0; i < pos; i++ {
		if src[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	near := src[pos:]
	if i := strings.IndexByte(near, '\n'); i >= 0 {
		near = near[:i]
	}
	if len(near) > 32 {
		near = near[:32] + "…"
	}
	return &PosError{Pos: pos, Line: line, Col: col, Msg: fmt.Sprintf(format, args...), Near: near, Inside: inside}
}

// lexer options: SQL and Insights differ in quoting and comments.
type lexMode uint8

const (
	lexSQL lexMode = iota
	lexInsights
)

// Tokenize splits a SQL query into tokens, dropping whitespace and comments
// (-- to end of line, /* … */, nestable as in DuckDB). The last token is
// always KindEOF.
func Tokenize(src string) ([]Token, error) { return tokenize(src, lexSQL) }

func tokenize(src string, mode lexMode) ([]Token, error) {
	inside := "SQL"
	if mode == lexInsights {
		inside = "Insights"
	}
	var toks []Token
	i := 0
	n := len(src)
	for {
		// Skip white space and comments.
		for i < n {
			c := src[i]
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' {
				i++
				continue
			}
			if mode == lexSQL && c == '-' && i+1 < n && src[i+1] == '-' {
				for i < n && src[i] != '\n' {
					i++
				}
				continue
			}
			if mode == lexInsights && c == '#' {
				for i < n && src[i] != '\n' {
					i++
				}
				continue
			}
			if mode == lexSQL && c == '/' && i+1 < n && src[i+1] == '*' {
				start := i
				depth := 0
				for i < n {
					if i+1 < n && src[i] == '/' && src[i+1] == '*' {
						depth++
						i += 2
						continue
					}
					if i+1 < n && src[i] == '*' && src[i+1] == '/' {
						depth--
						i += 2
						if depth == 0 {
							break
						}
						continue
					}
					i++
				}
				if depth != 0 {
					return nil, errAt(inside, src, start, "unterminated comment")
				}
				continue
			}
			break
		}
		if i >= n {
			toks = append(toks, Token{Kind: KindEOF, Pos: n, End: n})
			return toks, nil
		}
		start := i
		c := src[i]
		switch {
		case isIdentStart(c) || (mode == lexInsights && c == '@'):
			i++
			for i < n && (isIdentPart(src[i]) || (mode == lexInsights && (src[i] == '@' || src[i] == '.') && i+1 < n && isIdentPart(src[i+1]))) {
				i++
			}
			toks = append(toks, Token{Kind: KindIdent, Text: src[start:i], Pos: start, End: i})
		case c >= '0' && c <= '9' || (c == '.' && i+1 < n && src[i+1] >= '0' && src[i+1] <= '9'):
			i = scanNumber(src, i)
			toks = append(toks, Token{Kind: KindNumber, Text: src[start:i], Pos: start, End: i})
		case c == '\'' || (mode == lexInsights && c == '"'):
			val, end, ok := scanQuoted(src, i, c)
			if !ok {
				return nil, errAt(inside, src, start, "unterminated string")
			}
			i = end
			toks = append(toks, Token{Kind: KindString, Text: val, Pos: start, End: i})
		case c == '"' || c == '`':
			val, end, ok := scanQuoted(src, i, c)
			if !ok {
				return nil, errAt(inside, src, start, "unterminated quoted identifier")
			}
			if val == "" {
				return nil, errAt(inside, src, start, "empty quoted identifier")
			}
			i = end
			k := KindQuoted
			if c == '`' {
				k = KindBacktick
			}
			toks = append(toks, Token{Kind: k, Text: val, Pos: start, End: i})
		case mode == lexInsights && c == '/' && regexAllowed(toks):
			j := i + 1
			for j < n && src[j] != '/' {
				if src[j] == '\\' {
					j++
				}
				if j < n && src[j] == '\n' {
					break
				}
				j++
			}
			if j >= n || src[j] != '/' {
				return nil, errAt(inside, src, start, "unterminated regex")
			}
			i = j + 1
			toks = append(toks, Token{Kind: KindRegex, Text: src[start+1 : j], Pos: start, End: i})
		case c == '?' || (c == '$' && i+1 < n && src[i+1] >= '0' && src[i+1] <= '9'):
			i++
			for i < n && src[i] >= '0' && src[i] <= '9' {
				i++
			}
			toks = append(toks, Token{Kind: KindParam, Text: src[start:i], Pos: start, End: i})
		default:
			op := scanOp(src, i)
			if op == "" {
				return nil, errAt(inside, src, start, "unexpected character %q", src[i:i+1])
			}
			i += len(op)
			toks = append(toks, Token{Kind: KindOp, Text: op, Pos: start, End: i})
		}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$'
}

func scanNumber(src string, i int) int {
	n := len(src)
	if src[i] == '0' && i+1 < n && (src[i+1] == 'x' || src[i+1] == 'X') {
		i += 2
		for i < n && (isHex(src[i]) || src[i] == '_') {
			i++
		}
		return i
	}
	for i < n && (src[i] >= '0' && src[i] <= '9' || src[i] == '_') {
		i++
	}
	if i < n && src[i] == '.' && !(i+1 < n && src[i+1] == '.') {
		i++
		for i < n && src[i] >= '0' && src[i] <= '9' {
			i++
		}
	}
	if i < n && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < n && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < n && src[j] >= '0' && src[j] <= '9' {
			i = j
			for i < n && src[i] >= '0' && src[i] <= '9' {
				i++
			}
		}
	}
	return i
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanQuoted reads a quoted span starting at src[i] == q, where a doubled
// quote stands for one (SQL's rule). It returns the unescaped value and the
// offset after the closing quote.
func scanQuoted(src string, i int, q byte) (string, int, bool) {
	var b strings.Builder
	j := i + 1
	for j < len(src) {
		c := src[j]
		if c == q {
			if j+1 < len(src) && src[j+1] == q {
				b.WriteByte(q)
				j += 2
				continue
			}
			return b.String(), j + 1, true
		}
		b.WriteByte(c)
		j++
	}
	return "", 0, false
}

var ops3 = []string{"!~~", "->>"}
var ops2 = []string{"<=", ">=", "<>", "!=", "==", "||", "::", "=~", "!~", "->", "<<", ">>", "**", "~~"}

func scanOp(src string, i int) string {
	for _, o := range ops3 {
		if strings.HasPrefix(src[i:], o) {
			return o
		}
	}
	for _, o := range ops2 {
		if strings.HasPrefix(src[i:], o) {
			return o
		}
	}
	switch src[i] {
	case '(', ')', ',', ';', '.', '+', '-', '*', '/', '%', '=', '<', '>', '[', ']', '{', '}', ':', '^', '~', '&', '|', '!':
		return src[i : i+1]
	}
	return ""
}

// regexAllowed reports whether a '/' at this point of an Insights query
// starts a regex literal rather than a division: after an operator, a
// keyword that expects a value, or at the start.
func regexAllowed(toks []Token) bool {
	if len(toks) == 0 {
		return true
	}
	p := toks[len(toks)-1]
	if len(toks) >= 2 && toks[len(toks)-2].Kind == KindIdent && strings.EqualFold(toks[len(toks)-2].Text, "parse") {
		return true // parse <field> /regex/
	}
	switch p.Kind {
	case KindOp:
		return p.Text != ")" && p.Text != "]"
	case KindIdent:
		switch strings.ToLower(p.Text) {
		case "like", "parse", "and", "or", "not", "filter", "in":
			return true
		}
	}
	return false
}
