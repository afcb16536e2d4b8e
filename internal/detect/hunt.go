package detect

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

// Hunt runs every enabled detector and user rule over the window of cfg
// (the whole data when From/To are zero) and returns the findings, ranked.
// Findings matched by an allowlist entry are returned with Suppressed set.
func Hunt(ctx context.Context, q store.Querier, cfg Config) ([]Finding, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	env := Env{Q: q, Config: &cfg, Internal: cfg.Internal(), Intel: cfg.Intel}
	if err := env.resolveWindow(ctx); err != nil {
		return nil, err
	}
	if env.To.IsZero() {
		return nil, nil // no data
	}
	type job struct {
		name string
		run  func(ctx context.Context, env *Env) ([]Finding, error)
		sev  Severity
	}
	var jobs []job
	for _, d := range Detectors() {
		if !cfg.enabled(d.Name()) {
			continue
		}
		jobs = append(jobs, job{d.Name(), d.Run, d.Severity()})
	}
	for _, r := range cfg.Rules {
		if !cfg.enabled(r.Name) {
			continue
		}
		jobs = append(jobs, job{r.Name, r.Run, r.severity})
	}
	if len(cfg.Only) > 0 {
		for _, n := range cfg.Only {
			if _, ok := Lookup(n); !ok && !cfg.hasRule(n) {
				return nil, fmt.Errorf("cannot run detector %q: no such detector or rule", n)
			}
		}
	}
	var (
		mu   sync.Mutex
		out  []Finding
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, cfg.Parallel)
	)
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			e := env
			if d, ok := Lookup(j.name); ok {
				p, err := resolveParams(d, &cfg)
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				e.params = p
			}
			var rows atomic.Int64
			if cfg.Observe != nil {
				e.Q = countingQuerier{q: e.Q, rows: &rows}
			}
			t0 := time.Now()
			fs, err := j.run(ctx, &e)
			took := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if cfg.Observe != nil {
				cfg.Observe(DetectorRun{Name: j.name, Took: took, Rows: rows.Load(), Findings: len(fs), Err: err})
			}
			if err != nil {
				errs = append(errs, err)
				return
			}
			for i := range fs {
				f := &fs[i]
				f.Detector = j.name
				if dc, ok := cfg.Detectors[j.name]; ok && dc.Severity != "" {
					f.Severity, _ = ParseSeverity(dc.Severity)
				}
				f.finish()
				if f.Severity < cfg.MinSeverity {
					continue
				}
				f.Suppressed = cfg.allowed(f)
				out = append(out, *f)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	transit, err := env.transitAddrs(ctx)
	if err != nil {
		return nil, err
	}
	for i := range out {
		f := &out[i]
		if f.Suppressed == "" && transit[f.Entity.Value] && actorDetectors[f.Detector] {
			f.Suppressed = "transit ENI (NAT gateway): the originating instance is reported on its own ENI"
		}
	}
	SortFindings(out)
	return out, nil
}

// resolveWindow fills the window from the data when the caller left it
// open, and finds where the data (and so every baseline) starts.
func (e *Env) resolveWindow(ctx context.Context) error {
	e.From, e.To = e.Config.From, e.Config.To
	var minS, maxS int64
	var any bool
	err := query(ctx, e.Q, "hunt", "SELECT min(start), max(start), count(*) FROM vpc_flow_logs", nil, func(r row) error {
		if r.Int(2) > 0 {
			any = true
			minS, maxS = r.Int(0), r.Int(1)
			e.Records = r.Int(2)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !any {
		return nil
	}
	if e.From.IsZero() {
		e.From = ts(minS)
	}
	if e.To.IsZero() {
		e.To = ts(maxS + 1)
	}
	e.DataFrom = ts(minS)
	if horizon := e.From.Add(-time.Duration(e.Config.BaselineDays) * 24 * time.Hour); e.DataFrom.Before(horizon) {
		e.DataFrom = horizon
	}
	return nil
}

// actorDetectors report the sender of outbound traffic; on a NAT gateway
// that sender is someone else's traffic, already seen on its own ENI.
var actorDetectors = map[string]bool{
	"exfiltration": true, "cryptomining": true, "dos_outbound": true, "dns_external_resolver": true,
	"beaconing": true, "long_connection": true, "unusual_port": true, "port_scan_horizontal": true,
	"port_scan_vertical": true, "brute_force": true, "failed_connections": true,
}

// transitAddrs finds addresses of ENIs that forward other hosts' traffic
// (NAT gateways): records addressed to them whose packet destination is
// somewhere else.
func (e *Env) transitAddrs(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	err := query(ctx, e.Q, "hunt", `SELECT DISTINCT dstaddr FROM vpc_flow_logs WHERE `+inWindow+`
  AND direction = 'internal' AND pkt_dstaddr IS NOT NULL AND pkt_dstaddr <> dstaddr`, []any{e.From.Unix(), e.To.Unix()}, func(r row) error {
		out[r.Str(0)] = true
		return nil
	})
	return out, err
}
