package detect

import (
	"context"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// builtin is a detector defined by a run function; the built-in detectors
// are values of it, registered in init.
type builtin struct {
	name, desc string
	mitre      []string
	params     []Param
	sev        Severity
	run        func(ctx context.Context, env *Env) ([]Finding, error)
}

func (b *builtin) Name() string        { return b.name }
func (b *builtin) Description() string { return b.desc }
func (b *builtin) MITRE() []string     { return b.mitre }
func (b *builtin) Params() []Param     { return b.params }
func (b *builtin) Severity() Severity  { return b.sev }
func (b *builtin) Run(ctx context.Context, env *Env) ([]Finding, error) {
	return b.run(ctx, env)
}

func p(name string, def any, help string) Param { return Param{Name: name, Default: def, Help: help} }

// Common port sets.
var (
	remoteAdminPorts = []int{22, 23, 135, 139, 445, 3389, 5900, 5985, 5986, 2375, 2376, 10250}
	authPorts        = []int{21, 22, 23, 25, 110, 143, 389, 445, 465, 587, 636, 993, 995, 1433, 1521, 3306, 3389, 5432, 5900, 5985, 5986, 6379, 27017}
	// Database, cache, search and container APIs that should never face the
	// internet; a flow ACCEPTed from outside to one of them is an exposure.
	sensitivePorts = []int{1433, 1521, 2375, 2376, 2379, 3306, 5432, 5984, 6379, 7000, 7001, 9042, 9200, 9300, 11211, 27017, 27018, 50070, 8088, 10250}
	// Mining pool ports (Falco/Panther list) without the common web ports
	// 8000, 8008, 8080, 8888 that make that list noisy.
	poolPorts   = []int{3333, 3334, 3335, 3336, 3357, 4444, 5555, 5556, 5588, 5730, 6099, 6641, 6642, 6666, 7777, 7778, 8118, 8333, 8899, 9332, 9999, 10300, 10343, 14433, 14444, 18080, 18081, 45560, 45700}
	commonPorts = []int{20, 21, 22, 25, 53, 80, 110, 123, 143, 443, 465, 587, 853, 993, 995, 3306, 5432, 6379, 8080, 8443, 9418, 27017}
)

// novelty tells whether something first seen at first is new: not present
// in the baseline before the hunt window, and not there since the data
// began (the learning period covers the first hours of data when there is
// no history before the window).
func (e *Env) novel(first time.Time, learn time.Duration) bool {
	if first.Before(e.From) {
		return false
	}
	return !first.Before(e.DataFrom.Add(learn))
}

// learnPeriod is the part of the data treated as "usual" when there is no
// history before the window: a quarter of the data, at most 6 hours.
func (e *Env) learnPeriod() time.Duration {
	if e.DataFrom.Before(e.From) {
		return 0
	}
	d := e.To.Sub(e.DataFrom) / 4
	if d > 6*time.Hour {
		d = 6 * time.Hour
	}
	return d
}

// srcInternal tells whether a source is one of ours: the store's direction
// column says so (it was derived with the ingest's internal networks, which
// must include the VPCs' IPv6 blocks: AWS IPv6 addresses are global), or the
// hunt's internal networks contain it.
func srcInternal(env *Env, src, direction string) bool {
	switch direction {
	case "outbound", "internal":
		return true
	case "inbound":
		return false
	}
	return env.internal(src)
}

// hostPort joins an address and a port, bracketing IPv6 addresses
// ([2600:1f18::1]:443) so the port cannot be read as part of the address.
func hostPort(ip string, port int) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + strconv.Itoa(port)
	}
	return ip + ":" + strconv.Itoa(port)
}

func (e *Env) internal(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, p := range e.Internal {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// logScore maps value v on a log scale between lo (score 50) and hi
// (score 100).
func logScore(v, lo, hi float64) float64 {
	if v <= lo || hi <= lo {
		return 50
	}
	s := 50 + 50*math.Log(v/lo)/math.Log(hi/lo)
	return math.Min(s, 100)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
