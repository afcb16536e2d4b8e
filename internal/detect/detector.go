package detect

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/flowhunt/flowhunt/internal/store"
)

// Param is one configurable threshold of a detector. Default is a float64
// or a []int (port lists).
type Param struct {
	Name    string
	Default any
	Help    string
}

// Detector is one explainable detection. Run pushes its aggregation to the
// store through env.Q and returns findings; the framework fills ids, applies
// severity overrides and allowlists.
type Detector interface {
	Name() string
	Description() string
	MITRE() []string
	Params() []Param
	Severity() Severity // default severity of a typical finding
	Run(ctx context.Context, env *Env) ([]Finding, error)
}

var (
	regMu    sync.RWMutex
	registry = map[string]Detector{}
)

// Register adds a detector to the registry. Registering a name twice is a bug.
func Register(d Detector) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[d.Name()]; dup {
		panic("BUG: detector registered twice: " + d.Name())
	}
	registry[d.Name()] = d
}

// Lookup returns the registered detector called name.
func Lookup(name string) (Detector, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	d, ok := registry[name]
	return d, ok
}

// Detectors returns every registered detector sorted by name.
func Detectors() []Detector {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]Detector, 0, len(registry))
	for _, d := range registry {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Env is what a detector sees: the store, the hunt window, its resolved
// parameters, the internal networks, threat intel and baselines.
type Env struct {
	Q        store.Querier
	From, To time.Time // hunt window, [From, To)
	Config   *Config
	Internal []netip.Prefix
	Intel    *IntelSet
	// DataFrom is the first record time in the store (within the baseline
	// horizon); detectors use it to tell "new" from "first seen because the
	// data starts here".
	DataFrom time.Time
	// Records is how many records the store holds for the hunt (window
	// and baseline).
	Records int64

	params map[string]any
}

// Float returns the numeric parameter name of the running detector.
func (e *Env) Float(name string) float64 {
	switch v := e.params[name].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case uint64:
		return float64(v)
	}
	panic("BUG: detector parameter " + name + " is not numeric")
}

// Int returns the numeric parameter name as an int64.
func (e *Env) Int(name string) int64 { return int64(e.Float(name)) }

// Ports returns the port-list parameter name.
func (e *Env) Ports(name string) []int {
	switch v := e.params[name].(type) {
	case []int:
		return v
	case []any:
		out := make([]int, 0, len(v))
		for _, x := range v {
			switch n := x.(type) {
			case uint64:
				out = append(out, int(n))
			case int64:
				out = append(out, int(n))
			case int:
				out = append(out, n)
			case float64:
				out = append(out, int(n))
			}
		}
		return out
	}
	panic("BUG: detector parameter " + name + " is not a port list")
}

// window returns the hunt window as epoch seconds for the start column.
func (e *Env) window() (int64, int64) { return e.From.Unix(), e.To.Unix() }

// resolveParams merges a detector's defaults with the configuration.
func resolveParams(d Detector, cfg *Config) (map[string]any, error) {
	p := map[string]any{}
	for _, pr := range d.Params() {
		p[pr.Name] = pr.Default
	}
	dc := cfg.Detectors[d.Name()]
	for k, v := range dc.Params {
		def, ok := p[k]
		if !ok {
			return nil, fmt.Errorf("cannot configure detector %s: unknown parameter %q", d.Name(), k)
		}
		switch def.(type) {
		case []int:
			if _, ok := v.([]any); !ok {
				return nil, fmt.Errorf("cannot configure detector %s: parameter %q wants a list of ports", d.Name(), k)
			}
		default:
			switch v.(type) {
			case uint64, int64, float64, int:
			default:
				return nil, fmt.Errorf("cannot configure detector %s: parameter %q wants a number", d.Name(), k)
			}
		}
		p[k] = v
	}
	return p, nil
}
