// Package clickhouse is flowhunt's scale-out store: vpc_flow_logs in
// MergeTree tables partitioned by day on every shard of a ClickHouse
// cluster, behind a Distributed table, reached over plain HTTP so that the
// same code runs on Debian's 18.16 and on current releases.
package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/query"
	"github.com/flowhunt/flowhunt/internal/store"
)

// Config configures a ClickHouse store.
type Config struct {
	// URL names the cluster: clickhouse://[user:password@]host:port[,host:port…]/db?cluster=NAME
	// with the HTTP port (8123 by default). The first host takes queries and
	// holds the ledger, rejects and side tables; schema changes run on every
	// listed host. With cluster and one host, the shards are read from
	// system.clusters and reached on the same HTTP port. Without cluster,
	// one server holds everything.
	URL string
	// InternalCIDRs are added to store.DefaultInternal for the direction column.
	InternalCIDRs []netip.Prefix
	// Client is the HTTP client; default one with a 30 s dial timeout.
	Client *http.Client
	// InsertRows is the rows per INSERT (per worker); default 500 000.
	InsertRows int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Store is an open ClickHouse store.
type Store struct {
	cfg     Config
	db      string
	cluster string
	entry   *node
	shards  []*node // every host holding a local flow table
	nets    *store.Networks
}

// Table names. With a cluster, flowsLocal is the MergeTree on each shard
// and vpc_flow_logs the Distributed table over them.
const (
	flowsLocal  = "vpc_flow_logs_local"
	ledgerTable = "ingest_ledger"
)

// ErrURL is returned for a store URL that cannot be used.
var ErrURL = errors.New("invalid clickhouse store URL")

// IsURL reports whether s selects the ClickHouse store.
func IsURL(s string) bool { return strings.HasPrefix(s, "clickhouse://") }

var dbName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// parseURL splits a store URL.
func parseURL(raw string) (hosts []string, db, cluster, user, pass string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "clickhouse" || u.Host == "" {
		return nil, "", "", "", "", fmt.Errorf("cannot open store %q: want clickhouse://host:port/db?cluster=NAME: %w", raw, ErrURL)
	}
	for _, h := range strings.Split(u.Host, ",") {
		if !strings.Contains(h, ":") {
			h += ":8123"
		}
		hosts = append(hosts, h)
	}
	db = strings.Trim(u.Path, "/")
	if db == "" {
		db = "flowhunt"
	}
	if !dbName.MatchString(db) {
		return nil, "", "", "", "", fmt.Errorf("cannot open store %q: database name %q: %w", raw, db, ErrURL)
	}
	cluster = u.Query().Get("cluster")
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	return hosts, db, cluster, user, pass, nil
}

// Open connects to the cluster and creates or migrates the schema.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	hosts, db, cluster, user, pass, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}}
	}
	if cfg.InsertRows <= 0 {
		cfg.InsertRows = 500_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Store{cfg: cfg, db: db, cluster: cluster, nets: store.NewNetworks(cfg.InternalCIDRs)}
	mk := func(h string) *node { return &node{base: "http://" + h + "/", user: user, pass: pass, hc: cfg.Client} }
	s.entry = mk(hosts[0])
	for _, h := range hosts {
		s.shards = append(s.shards, mk(h))
	}
	if cluster != "" && len(hosts) == 1 {
		if s.shards, err = s.discover(ctx, mk, hosts[0]); err != nil {
			return nil, err
		}
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// discover reads the cluster's shards from system.clusters; they are
// reached on the entry host's HTTP port.
func (s *Store) discover(ctx context.Context, mk func(string) *node, entry string) ([]*node, error) {
	_, port, _ := strings.Cut(entry, ":")
	rows, err := s.entry.query(ctx, "SELECT DISTINCT host_name FROM system.clusters WHERE cluster = "+quoteString(s.cluster)+" AND replica_num = 1 ORDER BY shard_num", nil)
	if err != nil {
		return nil, fmt.Errorf("cannot read cluster %q from %s: %w", s.cluster, s.entry, err)
	}
	defer rows.Close()
	var out []*node
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		out = append(out, mk(h+":"+port))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("cannot open store: cluster %q is not in %s's remote_servers (check ?cluster=)", s.cluster, s.entry)
	}
	return out, nil
}

// Close releases idle connections.
func (s *Store) Close() error {
	s.cfg.Client.CloseIdleConnections()
	return nil
}

// Shards returns the hosts holding flow partitions.
func (s *Store) Shards() []string {
	var out []string
	for _, n := range s.shards {
		out = append(out, n.String())
	}
	return out
}

func (s *Store) table(name string) string { return quoteIdent(s.db) + "." + quoteIdent(name) }

// flowsLocalName is the MergeTree holding flows on each shard.
func (s *Store) flowsLocalName() string {
	if s.cluster == "" {
		return store.FlowTable
	}
	return flowsLocal
}

// chColumnType maps a canonical column to its ClickHouse type.
func chColumnType(c store.Column) string {
	switch c.Name {
	case store.ColDate:
		return "Date"
	case store.ColSourceObject, store.ColIngestBatch:
		return "String"
	case store.ColSourceLine:
		return "Int64"
	case store.ColSrcIP6, store.ColDstIP6:
		return "Nullable(FixedString(16))"
	}
	return sideType(c.Type)
}

// sideType maps a DuckDB column type (store.Column.Type) to ClickHouse.
func sideType(t string) string {
	base := "String"
	switch strings.ToUpper(t) {
	case "INTEGER", "INT", "INT4":
		base = "Int32"
	case "BIGINT", "INT8", "HUGEINT":
		base = "Int64"
	case "UINTEGER":
		base = "UInt32"
	case "UBIGINT":
		base = "UInt64"
	case "SMALLINT":
		base = "Int16"
	case "DOUBLE", "FLOAT", "REAL":
		base = "Float64"
	case "BOOLEAN", "BOOL":
		base = "UInt8"
	case "TIMESTAMP", "TIMESTAMPTZ":
		base = "DateTime('UTC')"
	case "DATE":
		base = "Date"
	}
	return "Nullable(" + base + ")"
}

// SortKey is the flow table's ORDER BY. Hunting reads by entity (an ENI,
// then an address pair) over time: ENI first groups an interface's flows in
// few granules and compresses its repeated ids, the pair next serves the
// pivots on an address, start last orders each conversation in time.
// ClickHouse 18 refuses Nullable key columns, so NULLs sort as ”/0.
const SortKey = "(ifNull(interface_id, ''), ifNull(srcaddr, ''), ifNull(dstaddr, ''), ifNull(start, 0))"

// ShardKey spreads flows over shards by interface: one ENI's flows stay on
// one shard, so per-ENI aggregation (baselines, stitching) is shard-local.
const ShardKey = "cityHash64(ifNull(interface_id, ''))"

// migrate creates the database and tables on every host, and adds columns
// a newer flowhunt defines to existing tables.
func (s *Store) migrate(ctx context.Context) error {
	var defs []string
	for _, c := range store.FlowColumns() {
		defs = append(defs, quoteIdent(c.Name)+" "+chColumnType(c))
	}
	local := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s) ENGINE = MergeTree PARTITION BY toYYYYMMDD(%s) ORDER BY %s SETTINGS index_granularity = 8192",
		s.table(s.flowsLocalName()), strings.Join(defs, ", "), quoteIdent(store.ColDate), SortKey)
	hosts := s.shards
	if !s.onShards(s.entry) {
		hosts = append(hosts, s.entry)
	}
	for _, n := range hosts {
		if err := n.exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(s.db), nil); err != nil {
			return fmt.Errorf("cannot create schema on %s: %w", n, err)
		}
		if s.onShards(n) {
			if err := n.exec(ctx, local, nil); err != nil {
				return fmt.Errorf("cannot create schema on %s: %w", n, err)
			}
			if err := s.addMissing(ctx, n, s.flowsLocalName()); err != nil {
				return err
			}
		}
		if s.cluster != "" {
			// Every host gets the Distributed table, so any can take queries.
			dist := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s AS %s ENGINE = Distributed(%s, %s, %s, %s)",
				s.table(store.FlowTable), s.table(s.flowsLocalName()), quoteIdent(s.cluster), quoteIdent(s.db), quoteIdent(flowsLocal), ShardKey)
			if err := n.exec(ctx, dist, nil); err != nil {
				return fmt.Errorf("cannot create schema on %s: %w", n, err)
			}
			if err := s.addMissing(ctx, n, store.FlowTable); err != nil {
				return err
			}
		}
	}
	e := s.entry
	stmts := []string{
		"CREATE TABLE IF NOT EXISTS " + s.table("rejects") + " (object String, line Int64, reason String, text String, ingest_batch String) ENGINE = MergeTree ORDER BY (object, line)",
		"CREATE TABLE IF NOT EXISTS " + s.table(ledgerTable) + " (key String, version String, size Int64, etag String, mtime DateTime('UTC'), records Int64, rejects Int64, damaged String, ingest_batch String, ingested DateTime('UTC'), state String, seq UInt64) ENGINE = MergeTree ORDER BY (key, seq)",
		"CREATE VIEW IF NOT EXISTS " + s.table("ingested_objects") + " AS SELECT key, argMax(version, seq) AS version, argMax(size, seq) AS size, argMax(etag, seq) AS etag, argMax(mtime, seq) AS mtime, argMax(records, seq) AS records, argMax(rejects, seq) AS rejects, argMax(damaged, seq) AS damaged, argMax(ingest_batch, seq) AS ingest_batch, argMax(ingested, seq) AS ingested, toInt32(0) AS segments FROM " + s.table(ledgerTable) + " GROUP BY key HAVING argMax(state, seq) = 'done'",
	}
	for _, q := range stmts {
		if err := e.exec(ctx, q, nil); err != nil {
			return fmt.Errorf("cannot create schema on %s: %w", e, err)
		}
	}
	return nil
}

func (s *Store) onShards(n *node) bool {
	for _, m := range s.shards {
		if m.base == n.base {
			return true
		}
	}
	return false
}

// addMissing adds the canonical columns an older schema lacks.
func (s *Store) addMissing(ctx context.Context, n *node, table string) error {
	rows, err := n.query(ctx, "SELECT name FROM system.columns WHERE database = "+quoteString(s.db)+" AND table = "+quoteString(table), nil)
	if err != nil {
		return fmt.Errorf("cannot migrate %s on %s: %w", table, n, err)
	}
	have := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		have[c] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range store.FlowColumns() {
		if !have[c.Name] {
			q := "ALTER TABLE " + s.table(table) + " ADD COLUMN " + quoteIdent(c.Name) + " " + chColumnType(c)
			if err := n.exec(ctx, q, nil); err != nil {
				return fmt.Errorf("cannot migrate %s on %s: %w", table, n, err)
			}
		}
	}
	return nil
}

var tableName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

var reserved = map[string]bool{store.FlowTable: true, "rejects": true, "ingested_objects": true, flowsLocal: true, ledgerTable: true}

// PutTable stores a side table on the entry host. Replacing builds the new
// table beside the old one and swaps them with one RENAME.
func (s *Store) PutTable(ctx context.Context, name string, cols []store.Column, rows [][]any, replace bool) error {
	if !tableName.MatchString(name) || reserved[name] || strings.HasSuffix(name, "__new") || strings.HasSuffix(name, "__old") {
		return fmt.Errorf("cannot put table %q: the name must be lowercase letters, digits and '_' and not a built-in table", name)
	}
	if len(cols) == 0 {
		return fmt.Errorf("cannot put table %q: no columns", name)
	}
	var defs []string
	for _, c := range cols {
		defs = append(defs, quoteIdent(c.Name)+" "+sideType(c.Type))
	}
	create := func(t string) string {
		return "CREATE TABLE IF NOT EXISTS " + s.table(t) + " (" + strings.Join(defs, ", ") + ") ENGINE = MergeTree ORDER BY tuple()"
	}
	data, err := encodeSide(cols, rows)
	if err != nil {
		return fmt.Errorf("cannot put table %q: %w", name, err)
	}
	e := s.entry
	exists, same, err := s.sameColumns(ctx, name, cols)
	if err != nil {
		return err
	}
	if !replace && exists {
		if !same {
			return fmt.Errorf("cannot append to table %q: its columns differ (pass replace)", name)
		}
		if len(rows) == 0 {
			return nil
		}
		return e.insert(ctx, s.table(name), data, false, nil)
	}
	tmp := name + "__new"
	if err := e.exec(ctx, "DROP TABLE IF EXISTS "+s.table(tmp), nil); err != nil {
		return err
	}
	if err := e.exec(ctx, create(tmp), nil); err != nil {
		return err
	}
	if len(rows) > 0 {
		if err := e.insert(ctx, s.table(tmp), data, false, nil); err != nil {
			return fmt.Errorf("cannot put table %q: %w", name, err)
		}
	}
	if exists {
		old := name + "__old"
		if err := e.exec(ctx, "DROP TABLE IF EXISTS "+s.table(old), nil); err != nil {
			return err
		}
		if err := e.exec(ctx, "RENAME TABLE "+s.table(name)+" TO "+s.table(old)+", "+s.table(tmp)+" TO "+s.table(name), nil); err != nil {
			return fmt.Errorf("cannot put table %q: %w", name, err)
		}
		return e.exec(ctx, "DROP TABLE IF EXISTS "+s.table(old), nil)
	}
	return e.exec(ctx, "RENAME TABLE "+s.table(tmp)+" TO "+s.table(name), nil)
}

func (s *Store) sameColumns(ctx context.Context, name string, cols []store.Column) (exists, same bool, err error) {
	rows, err := s.entry.query(ctx, "SELECT name, type FROM system.columns WHERE database = "+quoteString(s.db)+" AND table = "+quoteString(name), nil)
	if err != nil {
		return false, false, fmt.Errorf("cannot put table %q: %w", name, err)
	}
	defer rows.Close()
	var have [][2]string
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return false, false, err
		}
		have = append(have, [2]string{n, t})
	}
	if err := rows.Err(); err != nil {
		return false, false, err
	}
	if len(have) == 0 {
		return false, false, nil
	}
	if len(have) != len(cols) {
		return true, false, nil
	}
	for i, c := range cols {
		if have[i][0] != c.Name || strings.ReplaceAll(have[i][1], `\'`, `'`) != sideType(c.Type) {
			return true, false, nil
		}
	}
	return true, true, nil
}

// Expire drops the day partitions older than cutoff's day on every shard.
func (s *Store) Expire(ctx context.Context, cutoff time.Time) ([]string, error) {
	day := cutoff.UTC().Format("20060102")
	dropped := map[string]bool{}
	for _, n := range s.shards {
		rows, err := n.query(ctx, "SELECT DISTINCT partition FROM system.parts WHERE active AND database = "+quoteString(s.db)+" AND table = "+quoteString(s.flowsLocalName()), nil)
		if err != nil {
			return nil, fmt.Errorf("cannot list partitions on %s: %w", n, err)
		}
		var parts []string
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return nil, err
			}
			p = strings.Trim(p, "'")
			if len(p) == 8 && p < day {
				parts = append(parts, p)
			}
		}
		rows.Close()
		for _, p := range parts {
			if err := n.exec(ctx, "ALTER TABLE "+s.table(s.flowsLocalName())+" DROP PARTITION "+p, nil); err != nil {
				return nil, fmt.Errorf("cannot drop partition %s on %s: %w", p, n, err)
			}
			dropped[p[:4]+"-"+p[4:6]+"-"+p[6:]] = true
		}
	}
	var out []string
	for d := range dropped {
		out = append(out, d)
	}
	sort.Strings(out)
	return out, nil
}

// Reader is a read-only view of the store; queries are flowhunt SQL,
// translated to ClickHouse's dialect.
type Reader struct {
	s      *Store
	tables map[string]string
	from   time.Time
	to     time.Time
}

// OpenReader returns a reader over the tables that exist now.
func (s *Store) OpenReader(ctx context.Context, opts store.ReaderOptions) (store.Reader, error) {
	return s.Reader(ctx, opts)
}

// Reader returns a reader; From/To restrict vpc_flow_logs.
func (s *Store) Reader(ctx context.Context, opts store.ReaderOptions) (*Reader, error) {
	rows, err := s.entry.query(ctx, "SELECT name FROM system.tables WHERE database = "+quoteString(s.db), nil)
	if err != nil {
		return nil, fmt.Errorf("cannot open reader: %w", err)
	}
	defer rows.Close()
	r := &Reader{s: s, tables: map[string]string{}, from: opts.From, to: opts.To}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		if n == flowsLocal || n == ledgerTable || strings.HasSuffix(n, "__new") || strings.HasSuffix(n, "__old") {
			continue
		}
		r.tables[n] = s.table(n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// flowFilter is the reader's time range over a reference to vpc_flow_logs:
// whole days for partition pruning, then start as DuckDB's view has it.
func (r *Reader) flowFilter(ref string) string {
	q := quoteIdent(ref) + "."
	var c []string
	if !r.from.IsZero() {
		c = append(c, q+"`date` >= toDate('"+r.from.UTC().Format("2006-01-02")+"')",
			fmt.Sprintf("(%sstart IS NULL OR %sstart >= %d)", q, q, ceilSeconds(r.from)))
	}
	if !r.to.IsZero() {
		c = append(c, q+"`date` <= toDate('"+r.to.UTC().Add(-time.Nanosecond).Format("2006-01-02")+"')",
			fmt.Sprintf("(%sstart IS NULL OR %sstart < %d)", q, q, ceilSeconds(r.to)))
	}
	return strings.Join(c, " AND ")
}

// ceilSeconds: start (whole seconds) >= t  ⇔  start >= ceil(t).
func ceilSeconds(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// SQL returns the ClickHouse text of a flowhunt query.
func (r *Reader) SQL(sql string, args ...any) (string, error) {
	opts := query.ClickHouseOptions{Tables: r.tables}
	if !r.from.IsZero() || !r.to.IsZero() {
		opts.FlowFilter = r.flowFilter
	}
	return query.ToClickHouse(sql, args, opts)
}

// Query runs one read-only query. ClickHouse enforces it too: readonly=2
// refuses writes and table functions, and distributed_product_mode=global
// runs subqueries over vpc_flow_logs once and ships them to the shards.
func (r *Reader) Query(ctx context.Context, sql string, args ...any) (store.Rows, error) {
	ch, err := r.SQL(sql, args...)
	if err != nil {
		return nil, err
	}
	set := url.Values{"readonly": {"2"}, "distributed_product_mode": {"global"}, "join_use_nulls": {"1"}}
	if dl, ok := ctx.Deadline(); ok {
		if sec := int(time.Until(dl).Seconds()) + 1; sec > 0 {
			set.Set("max_execution_time", fmt.Sprint(sec))
		}
	}
	rows, err := r.s.entry.query(ctx, ch, set)
	if err != nil {
		return nil, fmt.Errorf("cannot run query: %w", err)
	}
	return rows, nil
}

// Close releases the reader.
func (r *Reader) Close() error { return nil }

// encodeSide writes side-table rows as TabSeparated for the types of
// sideType. Values: string, integers, float64, bool, time.Time, []byte, nil.
func encodeSide(cols []store.Column, rows [][]any) ([]byte, error) {
	var b []byte
	for i, r := range rows {
		if len(r) != len(cols) {
			return nil, fmt.Errorf("row %d has %d values for %d columns", i+1, len(r), len(cols))
		}
		for k, v := range r {
			if k > 0 {
				b = append(b, '\t')
			}
			switch x := v.(type) {
			case nil:
				b = append(b, '\\', 'N')
			case string:
				b = appendTSV(b, []byte(x))
			case []byte:
				b = appendTSV(b, x)
			case bool:
				if x {
					b = append(b, '1')
				} else {
					b = append(b, '0')
				}
			case time.Time:
				if strings.EqualFold(cols[k].Type, "DATE") {
					b = append(b, x.UTC().Format("2006-01-02")...)
				} else {
					b = append(b, x.UTC().Format("2006-01-02 15:04:05")...)
				}
			case float64:
				b = strconv.AppendFloat(b, x, 'g', -1, 64)
			case float32:
				b = strconv.AppendFloat(b, float64(x), 'g', -1, 32)
			case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
				b = append(b, fmt.Sprint(x)...)
			default:
				return nil, fmt.Errorf("row %d column %s: cannot store a %T", i+1, cols[k].Name, v)
			}
		}
		b = append(b, '\n')
	}
	return b, nil
}
