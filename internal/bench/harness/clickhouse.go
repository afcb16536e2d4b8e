package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/bench"
	"github.com/flowhunt/flowhunt/internal/query"
	"github.com/flowhunt/flowhunt/internal/store"
	"github.com/flowhunt/flowhunt/internal/store/clickhouse"
)

// benchDatabase is the store URL with its database replaced by one the
// harness owns for a data set, named after the URL's (flowhunt →
// flowhunt_bench_1m), so the database the URL names is never touched.
func benchDatabase(storeURL, dataset string) (string, string, error) {
	u, err := url.Parse(storeURL)
	if err != nil || !clickhouse.IsURL(storeURL) {
		return "", "", fmt.Errorf("cannot use ClickHouse store %q: want clickhouse://host:port/db?cluster=NAME", cut(storeURL, 80))
	}
	base := strings.Trim(u.Path, "/")
	if base == "" {
		base = "flowhunt"
	}
	db := base + "_bench_" + strings.ToLower(dataset)
	u.Path = "/" + db
	return u.String(), db, nil
}

// chHost is one ClickHouse server of the cluster, reached over HTTP.
type chHost struct {
	addr       string // host:port (HTTP)
	user, pass string
}

func (c chHost) exec(ctx context.Context, sql string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.addr+"/", strings.NewReader(sql))
	if err != nil {
		return err
	}
	if c.user != "" {
		req.Header.Set("X-ClickHouse-User", c.user)
		req.Header.Set("X-ClickHouse-Key", c.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach ClickHouse %s: %w", c.addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var b strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() && b.Len() < 500 {
			b.WriteString(sc.Text())
		}
		return fmt.Errorf("cannot run %q on ClickHouse %s: %s", cut(sql, 60), c.addr, b.String())
	}
	return nil
}

// clickhouseHosts opens the store (creating the bench database) and returns
// every server holding its tables.
func clickhouseHosts(ctx context.Context, storeURL string) ([]chHost, error) {
	st, err := clickhouse.Open(ctx, clickhouse.Config{URL: storeURL})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	u, _ := url.Parse(storeURL)
	var user, pass string
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	var out []chHost
	seen := map[string]bool{}
	for _, h := range append([]string{strings.Split(u.Host, ",")[0]}, st.Shards()...) {
		if !strings.Contains(h, ":") {
			h += ":8123"
		}
		if !seen[h] {
			seen[h] = true
			out = append(out, chHost{addr: h, user: user, pass: pass})
		}
	}
	return out, nil
}

func dropDatabase(ctx context.Context, hosts []chHost, db string) error {
	for _, h := range hosts {
		if err := h.exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
			return err
		}
	}
	return nil
}

// serverCPU sums the CPU time of the local processes listening on the
// hosts' ports (the ClickHouse servers, when they run on this machine);
// ok is false when any of them is not local or not readable. ClickHouse
// 18.16 does not report its own CPU time in system.events.
type serverCPU struct{ pids []int }

func findServers(hosts []chHost) serverCPU {
	var sc serverCPU
	for _, h := range hosts {
		host, port, _ := strings.Cut(h.addr, ":")
		if host != "127.0.0.1" && host != "localhost" && host != "::1" {
			return serverCPU{}
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return serverCPU{}
		}
		pid := listenerPID(p)
		if pid == 0 {
			return serverCPU{}
		}
		sc.pids = append(sc.pids, pid)
	}
	return sc
}

// cpu returns the servers' user+system time so far.
func (sc serverCPU) cpu() (time.Duration, bool) {
	if len(sc.pids) == 0 {
		return 0, false
	}
	var total time.Duration
	for _, pid := range sc.pids {
		d, ok := procCPU(pid)
		if !ok {
			return 0, false
		}
		total += d
	}
	return total, true
}

// clockTick is USER_HZ, the unit of /proc/PID/stat's utime and stime
// (100 on every Linux architecture Go supports).
const clockTick = 100

func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * time.Second / clockTick, true
}

// listenerPID finds the process with a TCP socket listening on port, from
// /proc/net/tcp{,6} and the processes' file descriptors; 0 when none is
// visible.
func listenerPID(port int) int {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 || fs[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(fs[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port {
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name())); err == nil && inodes[l] {
				return pid
			}
		}
	}
	return 0
}

// measureClickHouse ingests the data set into the cluster (its own bench
// database, dropped before and after) with the flowhunt binary, then runs
// the seed queries there interleaved with the same queries on the embedded
// store, and adds the figures: the cluster is the "flowhunt" side, the
// embedded store the anchor, so the ratio is what moving to the cluster
// costs or gains on this machine.
func (h *harness) measureClickHouse(ctx context.Context, ds *bench.Dataset, embedded store.Querier, embeddedRate, embeddedCPURate float64) error {
	u, db, err := benchDatabase(h.cfg.ClickHouse, ds.Name)
	if err != nil {
		return err
	}
	hosts, err := clickhouseHosts(ctx, u)
	if err != nil {
		return err
	}
	if err := dropDatabase(ctx, hosts, db); err != nil {
		return err
	}
	defer dropDatabase(context.WithoutCancel(ctx), hosts, db)
	servers := findServers(hosts)

	s0, serverOK := servers.cpu()
	res, err := h.runChild(ctx, nil, "ingest", "--store", u, "--output", "json", filepath.Join(ds.Dir, "s3"))
	if err != nil {
		return err
	}
	s1, ok1 := servers.cpu()
	var sum ingestSummary
	if err := json.Unmarshal(res.Stdout, &sum); err != nil {
		return fmt.Errorf("cannot read the output of flowhunt ingest --store %q: %w", cut(string(res.Stdout), 200), err)
	}
	if sum.Records != ds.Records || sum.Rejects != 0 {
		return fmt.Errorf("cannot trust ClickHouse ingest: it stored %d records and %d bad lines, the simulator wrote %d records", sum.Records, sum.Rejects, ds.Records)
	}
	rate := float64(ds.Records) / res.Wall.Seconds()
	f := bench.Figure{Key: "ch_ingest_rate/" + ds.Name, Name: "ingest " + ds.Name + " records, ClickHouse store", Unit: "rec/s",
		Flowhunt: rate, Samples: []float64{rate}, Anchor: embeddedRate, AnchorName: "embedded store"}
	note := fmt.Sprintf("one run, flowhunt ingest --store into %d shard(s); ", len(hosts))
	if serverOK && ok1 {
		cpu := res.CPU + (s1 - s0)
		f.CPU, f.AnchorCPU = float64(ds.Records)/cpu.Seconds(), embeddedCPURate
		note += fmt.Sprintf("CPU: the ingest child %.1f s + the local servers %.1f s", res.CPU.Seconds(), (s1 - s0).Seconds())
	} else {
		note += "no CPU ratio: the servers are not local processes"
	}
	f.Note = note
	h.rep.Add(f)
	h.logf("%s ClickHouse ingest %.2fs (%.0f records/s)", ds.Name, res.Wall.Seconds(), rate)

	st, err := clickhouse.Open(ctx, clickhouse.Config{URL: u})
	if err != nil {
		return err
	}
	defer st.Close()
	rd, err := st.Reader(ctx, store.ReaderOptions{})
	if err != nil {
		return err
	}
	defer rd.Close()
	for i, q := range SeedQueries {
		// As flowhunt query does on either store: Translate, then the
		// reader (the cluster's turns flowhunt SQL into ClickHouse's).
		run := func(qr store.Querier) func() (int64, error) {
			return func() (int64, error) {
				t, err := query.Translate(q, query.DialectDuckDB)
				if err != nil {
					return 0, err
				}
				return runQuery(ctx, qr, t)
			}
		}
		qt, err := interleave(ctx, []engine{
			{name: "the ClickHouse store", run: run(rd), server: servers},
			{name: "the embedded store", run: run(embedded)},
		}, h.cfg.QueryRuns, h.cfg.QueryTime)
		if err != nil {
			return fmt.Errorf("seed query %d: %w", i+1, err)
		}
		ch, emb := qt[0], qt[1]
		f := bench.Figure{Key: fmt.Sprintf("ch_query_q%d/%s", i+1, ds.Name), Name: fmt.Sprintf("seed query %d median, %s, ClickHouse store", i+1, ds.Name), Unit: "s",
			Flowhunt: bench.Median(ch.Wall), Samples: ch.Wall, Anchor: bench.Median(emb.Wall), AnchorRuns: emb.Wall, AnchorName: "embedded store",
			Note: fmt.Sprintf("%d rows, read by the client; %d runs each", ch.Rows, len(ch.Wall))}
		if ch.ServerOK {
			// Server CPU is read in 10 ms ticks: means over all runs, not medians.
			f.CPU, f.AnchorCPU = mean(ch.CPU), mean(emb.CPU)
			f.Note += "; CPU: means per run, client and local servers"
		}
		h.rep.Add(f)
		h.logf("%s q%d: ClickHouse %.3fs, embedded %.3fs (%d rows)", ds.Name, i+1, f.Flowhunt, f.Anchor, ch.Rows)
	}
	return nil
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
