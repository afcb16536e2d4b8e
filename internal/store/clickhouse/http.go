package clickhouse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Plain HTTP is the one interface ClickHouse 18.x and current releases
// share: clickhouse-go's native protocol fails against 18.16 and its HTTP
// mode sends a setting 18.16 rejects (../../../docs/clickhouse.md).

// maxErrorBody caps the bytes of a server error kept in an error message.
const maxErrorBody = 2048

// node is one ClickHouse server reached over HTTP.
type node struct {
	base string // http://host:port/
	user string
	pass string
	hc   *http.Client
}

// ErrServer wraps errors ClickHouse itself reported.
var ErrServer = errors.New("clickhouse error")

func (n *node) String() string { return strings.TrimSuffix(strings.TrimPrefix(n.base, "http://"), "/") }

// do sends one request: the SQL in the query string when body is set (an
// INSERT … FORMAT with its data), else as the body.
func (n *node) do(ctx context.Context, sql string, body io.Reader, gz bool, settings url.Values) (*http.Response, error) {
	v := url.Values{}
	for k, s := range settings {
		v[k] = s
	}
	var rb io.Reader
	if body != nil {
		v.Set("query", sql)
		rb = body
	} else {
		rb = strings.NewReader(sql)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.base+"?"+v.Encode(), rb)
	if err != nil {
		return nil, err
	}
	if n.user != "" {
		req.Header.Set("X-ClickHouse-User", n.user)
		req.Header.Set("X-ClickHouse-Key", n.pass)
	}
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := n.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach clickhouse %s: %w", n, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, fmt.Errorf("%w from %s: %s", ErrServer, n, strings.TrimSpace(string(msg)))
	}
	return resp, nil
}

// exec runs a statement and discards its output.
func (n *node) exec(ctx context.Context, sql string, settings url.Values) error {
	resp, err := n.do(ctx, sql, nil, false, settings)
	if err != nil {
		return fmt.Errorf("cannot run %q: %w", cut(sql, 120), err)
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// insert sends rows in TabSeparated format (gzip-compressed when gz).
func (n *node) insert(ctx context.Context, table string, data []byte, gz bool, settings url.Values) error {
	resp, err := n.do(ctx, "INSERT INTO "+table+" FORMAT TabSeparated", bytes.NewReader(data), gz, settings)
	if err != nil {
		return fmt.Errorf("cannot insert into %s: %w", table, err)
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// query runs a SELECT and returns its rows, typed from the column types
// ClickHouse sends (TabSeparatedWithNamesAndTypes).
func (n *node) query(ctx context.Context, sql string, settings url.Values) (*Rows, error) {
	resp, err := n.do(ctx, sql+"\nFORMAT TabSeparatedWithNamesAndTypes", nil, false, settings)
	if err != nil {
		return nil, err
	}
	r := &Rows{body: resp.Body, br: bufio.NewReaderSize(resp.Body, 256<<10)}
	names, err := r.line()
	if err != nil {
		resp.Body.Close()
		if errors.Is(err, io.EOF) {
			return &Rows{done: true}, nil // DDL-like statements answer nothing
		}
		return nil, fmt.Errorf("cannot read query columns: %w", err)
	}
	types, err := r.line()
	if err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("cannot read query column types: %w", err)
	}
	r.names, r.types = names, types
	return r, nil
}

// Rows streams a TabSeparatedWithNamesAndTypes answer; it satisfies
// store.Rows. Values scan as int64 (uint64 above its range), float64,
// string, []byte (FixedString), time.Time (Date, DateTime) or nil.
type Rows struct {
	body  io.ReadCloser
	br    *bufio.Reader
	names []string
	types []string
	cur   []string
	err   error
	done  bool
}

// Columns returns the column names.
func (r *Rows) Columns() ([]string, error) { return r.names, nil }

// ColumnTypes returns ClickHouse's type of each column.
func (r *Rows) ColumnTypes() []string { return r.types }

// Next reads the next row.
func (r *Rows) Next() bool {
	if r.done || r.err != nil {
		return false
	}
	f, err := r.line()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			r.err = err
		}
		r.done = true
		return false
	}
	// A server error after the first rows arrives as text in the stream.
	if len(f) == 1 && strings.HasPrefix(f[0], "Code: ") && len(r.names) != 1 {
		r.err = fmt.Errorf("%w: %s", ErrServer, f[0])
		r.done = true
		return false
	}
	if len(f) != len(r.names) {
		r.err = fmt.Errorf("cannot read row: %d fields for %d columns", len(f), len(r.names))
		r.done = true
		return false
	}
	r.cur = f
	return true
}

// Scan converts the current row into dest (*any, *string, *int64, *float64,
// or **int64, **float64, **string for NULL-able values).
func (r *Rows) Scan(dest ...any) error {
	if len(dest) != len(r.cur) {
		return fmt.Errorf("cannot scan row: %d destinations for %d columns", len(dest), len(r.cur))
	}
	for i, d := range dest {
		v, err := convert(r.cur[i], r.types[i])
		if err != nil {
			return fmt.Errorf("cannot scan column %s: %w", r.names[i], err)
		}
		switch p := d.(type) {
		case *any:
			*p = v
		case *string:
			if v == nil {
				*p = ""
			} else {
				*p = fmt.Sprint(v)
			}
		case *int64:
			switch x := v.(type) {
			case int64:
				*p = x
			case float64:
				*p = int64(x)
			case nil:
				*p = 0
			default:
				return fmt.Errorf("cannot scan column %s (%s) into int64", r.names[i], r.types[i])
			}
		case *float64:
			switch x := v.(type) {
			case int64:
				*p = float64(x)
			case float64:
				*p = x
			case nil:
				*p = 0
			default:
				return fmt.Errorf("cannot scan column %s (%s) into float64", r.names[i], r.types[i])
			}
		case **int64, **float64, **string:
			// NULL-able destinations (var v *int64; Scan(&v)), as
			// database/sql scans them: nil for NULL, else the value.
			if err := scanNullable(p, v); err != nil {
				return fmt.Errorf("cannot scan column %s (%s): %w", r.names[i], r.types[i], err)
			}
		default:
			return fmt.Errorf("cannot scan into %T", d)
		}
	}
	return nil
}

// scanNullable stores v (nil, int64, float64 or another value) into a
// **int64, **float64 or **string.
func scanNullable(d any, v any) error {
	switch p := d.(type) {
	case **int64:
		switch x := v.(type) {
		case nil:
			*p = nil
		case int64:
			*p = &x
		case float64:
			n := int64(x)
			*p = &n
		default:
			return fmt.Errorf("%T is not an integer", v)
		}
	case **float64:
		switch x := v.(type) {
		case nil:
			*p = nil
		case int64:
			f := float64(x)
			*p = &f
		case float64:
			*p = &x
		default:
			return fmt.Errorf("%T is not a number", v)
		}
	case **string:
		if v == nil {
			*p = nil
		} else {
			s := fmt.Sprint(v)
			*p = &s
		}
	}
	return nil
}

// Err returns the error that ended the rows.
func (r *Rows) Err() error { return r.err }

// Close releases the response.
func (r *Rows) Close() error {
	r.done = true
	if r.body != nil {
		io.Copy(io.Discard, io.LimitReader(r.body, 1<<20))
		return r.body.Close()
	}
	return nil
}

// line reads one TSV line and unescapes its fields; \N stays "\N" for
// convert to see.
func (r *Rows) line() ([]string, error) {
	b, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append([]byte(nil), b...)
		for err == bufio.ErrBufferFull {
			b, err = r.br.ReadSlice('\n')
			buf = append(buf, b...)
		}
		b = buf
	}
	if err != nil {
		if err == io.EOF && len(b) > 0 {
			err = nil
		} else {
			return nil, err
		}
	}
	b = bytes.TrimSuffix(b, []byte{'\n'})
	var out []string
	for {
		i := bytes.IndexByte(b, '\t')
		f := b
		if i >= 0 {
			f = b[:i]
		}
		out = append(out, unescape(f))
		if i < 0 {
			break
		}
		b = b[i+1:]
	}
	return out, nil
}

func unescape(f []byte) string {
	if bytes.IndexByte(f, '\\') < 0 || (len(f) == 2 && f[0] == '\\' && f[1] == 'N') {
		return string(f)
	}
	var sb strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '\\' || i+1 == len(f) {
			sb.WriteByte(c)
			continue
		}
		i++
		switch f[i] {
		case 't':
			sb.WriteByte('\t')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case '0':
			sb.WriteByte(0)
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		default:
			sb.WriteByte(f[i])
		}
	}
	return sb.String()
}

// convert types one field by its ClickHouse type.
func convert(s, typ string) (any, error) {
	if t, ok := strings.CutPrefix(typ, "Nullable("); ok {
		if s == `\N` {
			return nil, nil
		}
		typ = strings.TrimSuffix(t, ")")
	}
	switch {
	case strings.HasPrefix(typ, "Int"):
		return strconv.ParseInt(s, 10, 64)
	case strings.HasPrefix(typ, "UInt"):
		u, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, err
		}
		if u > 1<<63-1 {
			return new(big.Int).SetUint64(u), nil
		}
		return int64(u), nil
	case strings.HasPrefix(typ, "Float"), strings.HasPrefix(typ, "Decimal"):
		switch s {
		case "nan", "-nan":
			return nil, nil
		case "inf", "+inf":
			return float64FromString("+Inf"), nil
		case "-inf":
			return float64FromString("-Inf"), nil
		}
		return strconv.ParseFloat(s, 64)
	case typ == "Date":
		if s == "0000-00-00" {
			return time.Time{}, nil
		}
		return time.Parse("2006-01-02", s)
	case strings.HasPrefix(typ, "DateTime"):
		if s == "0000-00-00 00:00:00" {
			return time.Time{}, nil
		}
		return time.Parse("2006-01-02 15:04:05", s)
	case strings.HasPrefix(typ, "FixedString"):
		return []byte(s), nil
	case typ == "Nothing":
		return nil, nil
	}
	return s, nil
}

func float64FromString(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// appendTSV appends s escaped for a TabSeparated field.
func appendTSV(dst []byte, s []byte) []byte {
	for _, c := range s {
		switch c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case 0:
			dst = append(dst, '\\', '0')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// quoteString writes a ClickHouse string literal.
func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// quoteIdent quotes an identifier; every name flowhunt writes into
// ClickHouse SQL goes through it.
func quoteIdent(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
