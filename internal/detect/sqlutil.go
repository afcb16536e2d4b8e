package detect

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

// row is one aggregated result row, read by column position.
type row []any

// query runs sql and calls fn for each row. Values are scanned as any and
// converted by the row accessors, so backends that type results differently
// (DuckDB's HUGEINT sums, ClickHouse's strings over HTTP) read alike.
func query(ctx context.Context, q store.Querier, detector, sql string, args []any, fn func(r row) error) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("cannot run query of detector %s: %w", detector, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("cannot read columns of detector %s: %w", detector, err)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("cannot scan row of detector %s: %w", detector, err)
		}
		if err := fn(row(vals)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cannot read rows of detector %s: %w", detector, err)
	}
	return nil
}

func (r row) Int(i int) int64 { return store.Int64(r[i]) }

func (r row) Float(i int) float64 { return store.Float64(r[i]) }

func (r row) Str(i int) string {
	switch v := r[i].(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case fmt.Stringer:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

func (r row) Null(i int) bool { return r[i] == nil }

// lit quotes a value for the reproducing SQL shown to analysts. Detectors
// run their own queries with parameters; this is the one place a value is
// written into SQL text, and it only quotes values read from the store.
func lit(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	panic(fmt.Sprintf("BUG: lit of %T", v))
}

// evidenceSQL builds the query that returns the flows behind a finding:
// the given conditions over the finding's time span.
func evidenceSQL(from, to time.Time, conds ...string) string {
	var b strings.Builder
	b.WriteString("SELECT interface_id, srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes, start, \"end\", action, log_status, tcp_flags, flow_direction\nFROM vpc_flow_logs\nWHERE start >= ")
	b.WriteString(strconv.FormatInt(from.Unix(), 10))
	b.WriteString(" AND start < ")
	b.WriteString(strconv.FormatInt(to.Unix()+1, 10))
	for _, c := range conds {
		b.WriteString("\n  AND ")
		b.WriteString(c)
	}
	b.WriteString("\nORDER BY start\nLIMIT 1000")
	return b.String()
}

func eq(col string, v any) string { return col + " = " + lit(v) }

// portList renders ports as a SQL list: (22, 3389).
func portList(ports []int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, p := range ports {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(p))
	}
	if len(ports) == 0 {
		b.WriteString("-1")
	}
	b.WriteByte(')')
	return b.String()
}

// Shared SQL fragments. They use only constructs DuckDB and ClickHouse 18
// both accept (no CTEs, no window functions).
const (
	// inWindow limits to the hunt window; args: from, to (epoch seconds).
	inWindow = "start >= ? AND start < ?"
	// initiated is true for records sent by the side that opened the
	// connection: a TCP SYN without SYN-ACK, or, without flags (UDP, ICMP,
	// v2 logs, continuation windows), the record aimed at the lower port.
	initiated = "((protocol = 6 AND tcp_flags IS NOT NULL AND (tcp_flags & 18) = 2) OR ((protocol <> 6 OR tcp_flags IS NULL OR (tcp_flags & 2) = 0) AND dstport < srcport))"
	// synOnly marks a TCP attempt that never completed: a SYN (maybe
	// answered by RST), no FIN, and no more than a handshake's packets.
	synOnly = "(protocol = 6 AND (tcp_flags = 2 OR tcp_flags = 6) AND packets <= 3)"
	okData  = "log_status = 'OK'"
)

func ts(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// inList renders string values as a quoted SQL list.
func inList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = lit(v)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// passCount is how many passes a grouped DISTINCT aggregate takes:
// enough that each covers at most Config.PassRecords records of the
// store, one when that is 0 or the store is smaller, at most 16.
func passCount(env *Env) int {
	if per := env.Config.PassRecords; per > 0 && env.Records > per {
		return int(min((env.Records+per-1)/per, 16))
	}
	return 1
}

// inPasses runs a grouped query in passes, each over the groups whose
// address column col (srcaddr or dstaddr, a group key) falls in one part,
// and calls fn for the rows of every pass. sql has one {pass} where the
// pass's condition goes, among its WHERE conditions.
//
// DuckDB cannot spill a grouped DISTINCT aggregate to disk: at 100 M
// records count(DISTINCT srcport) per (source, destination, port) held
// 4 GiB and failed under any smaller memory limit; the port scans' and
// dos_inbound's failed under 1 GiB when they ran beside another detector.
// A pass holds a part of the groups, for one more scan of the records
// each; Config.PassRecords sets how many records' worth of groups a pass
// may take (one pass when the store holds fewer). The passes split the
// groups, never a group, so the rows are those of the query without the
// condition.
//
// An IPv4 address goes to pass (its integer column, src_ip4 or dst_ip4)
// % passes: integer arithmetic on one narrow column instead of substr and
// length of every address string. Other addresses (IPv6, absent) are
// split by their last character.
func inPasses(ctx context.Context, env *Env, detector, sql, col string, args []any, fn func(r row) error) error {
	passes := passCount(env)
	if passes == 1 {
		return query(ctx, env.Q, detector, strings.Replace(sql, "{pass}", "true", 1), args, fn)
	}
	ip4 := map[string]string{"srcaddr": "src_ip4", "dstaddr": "dst_ip4"}[col]
	if ip4 == "" {
		panic("BUG: inPasses over " + col)
	}
	last := "substr(" + col + ", length(" + col + "), 1)"
	const chars = "0123456789abcdef"
	var seen []string
	for p := range passes {
		var other string
		if p < passes-1 {
			var set []string
			for i := p; i < len(chars); i += passes {
				set = append(set, chars[i:i+1])
			}
			seen = append(seen, set...)
			other = last + " IN " + inList(set)
		} else {
			// Whatever the other passes left: NULL, upper case.
			other = "(" + col + " IS NULL OR " + last + " NOT IN " + inList(seen) + ")"
		}
		cond := "(" + ip4 + " % " + strconv.Itoa(passes) + " = " + strconv.Itoa(p) + " OR (" + ip4 + " IS NULL AND " + other + "))"
		if err := query(ctx, env.Q, detector, strings.Replace(sql, "{pass}", cond, 1), args, fn); err != nil {
			return err
		}
	}
	return nil
}

// inTimePasses runs a grouped query whose groups lie within one minute
// (their key holds floor(start / 60)) in passes over parts of the window
// [from, to), cut at whole minutes, so no group spans two passes; the
// count and the {pass} placeholder are those of inPasses. The store's
// segments hold records of a few minutes each, so a pass reads only the
// row groups of its part: the passes together scan the records about
// once, where passes over addresses scan them once each.
func inTimePasses(ctx context.Context, env *Env, detector, sql string, from, to int64, args []any, fn func(r row) error) error {
	passes := passCount(env)
	if passes == 1 || to-from < int64(passes)*60 {
		return query(ctx, env.Q, detector, strings.Replace(sql, "{pass}", "true", 1), args, fn)
	}
	lo := from
	for p := 1; p <= passes; p++ {
		hi := to
		if p < passes {
			hi = from + (to-from)*int64(p)/int64(passes)
			hi -= ((hi % 60) + 60) % 60
		}
		cond := "(start >= " + strconv.FormatInt(lo, 10) + " AND start < " + strconv.FormatInt(hi, 10) + ")"
		if err := query(ctx, env.Q, detector, strings.Replace(sql, "{pass}", cond, 1), args, fn); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}
