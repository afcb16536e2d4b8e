// Package server is flowhunt's HTTP face: the JSON API under /api/v1, the
// Kinesis Data Firehose HTTP endpoint, /healthz and /metrics, the embedded
// web console, and the background work of `flowhunt serve` (watching S3,
// re-running hunts, posting new findings to a webhook).
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"sync"
	"time"
)

// Config configures a Server. Zero values take the defaults of Validate.
type Config struct {
	Addr    string // listen address; default 127.0.0.1:8080
	DataDir string // where the token file lives
	Token   string // API and console token; loaded or created in DataDir when empty
	NoAuth  bool   // serve without a token; allowed only on a loopback address

	FirehoseKey     string // X-Amz-Firehose-Access-Key expected; the token when empty
	FirehoseMaxBody int64  // bytes of a Firehose request (after gzip); default 64 MiB as Firehose sends at most

	MaxBodyBytes   int64         // bytes of an API request body; default 1 MiB
	MaxRows        int           // rows of a query result; default 10 000
	QueryTimeout   time.Duration // deadline of one query; default 60 s
	HandlerTimeout time.Duration // deadline of any other handler; default 2 min
	// MaxReaders bounds the store readers open at once, idle or serving a
	// request (each is a query engine of its own); a request waits for one
	// past it. Default 2×GOMAXPROCS, at least 4.
	MaxReaders int

	HuntEvery   time.Duration // re-run hunts this often; 0 disables
	WatchEvery  time.Duration // poll the watcher this often; default 1 min when a watcher is set
	Webhook     string        // URL new findings are POSTed to
	WebhookMin  string        // lowest severity posted; default high
	WebhookWait time.Duration // timeout of one webhook POST; default 10 s
}

// Validate fills defaults and checks the settings.
func (c *Config) Validate() error {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.NoAuth && !isLoopback(c.Addr) {
		return fmt.Errorf("cannot serve without a token on %q: --no-auth is allowed only on a loopback address (use --addr 127.0.0.1:PORT)", c.Addr)
	}
	if !c.NoAuth && c.Token == "" && c.DataDir == "" {
		return errors.New("cannot set up the API token: no token and no data directory (set --data)")
	}
	if c.FirehoseMaxBody <= 0 {
		c.FirehoseMaxBody = 64 << 20
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxRows <= 0 {
		c.MaxRows = 10000
	}
	if c.QueryTimeout <= 0 {
		c.QueryTimeout = 60 * time.Second
	}
	if c.HandlerTimeout <= 0 {
		c.HandlerTimeout = 2 * time.Minute
	}
	if c.MaxReaders <= 0 {
		c.MaxReaders = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if c.WatchEvery <= 0 {
		c.WatchEvery = time.Minute
	}
	if c.WebhookMin == "" {
		c.WebhookMin = "high"
	}
	if SeverityRank(c.WebhookMin) < 0 {
		return fmt.Errorf("cannot use webhook severity %q: want one of info, low, medium, high, critical", c.WebhookMin)
	}
	if c.WebhookWait <= 0 {
		c.WebhookWait = 10 * time.Second
	}
	return nil
}

// isLoopback reports whether a listen address binds loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// Server serves the API, the Firehose endpoint and the console.
type Server struct {
	cfg      Config
	deps     Deps
	token    string
	metrics  *metrics
	mux      *http.ServeMux
	readers  *readerPool
	badLines badLines // of Firehose requests, for GET /api/v1/ingest

	mu           sync.Mutex
	known        map[string]bool // finding ids already seen, for the webhook
	hunts        int             // completed scheduled hunts
	lastHunt     time.Time
	lastHuntErr  string
	lastWatch    time.Time
	lastWatchErr string
}

// New returns a server; it loads or creates the token when auth is on.
// The caller reads Token (and TokenCreated) to tell the user once.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil || deps.Query == nil {
		return nil, errors.New("BUG: server needs a store and a query engine")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Server{cfg: cfg, deps: deps, metrics: newMetrics(), known: map[string]bool{}}
	s.readers = newReaderPool(deps.Store, cfg.MaxReaders)
	if !cfg.NoAuth {
		s.token = cfg.Token
		if s.token == "" {
			tok, _, err := LoadOrCreateToken(cfg.DataDir)
			if err != nil {
				return nil, err
			}
			s.token = tok
		}
	}
	if s.cfg.FirehoseKey == "" {
		s.cfg.FirehoseKey = s.token
	}
	s.routes()
	return s, nil
}

// Close closes the store readers kept between requests; a reader serving a
// request is closed when the request ends. Serve calls it on shutdown.
func (s *Server) Close() error {
	s.readers.close()
	return nil
}

// Token returns the token clients must send ("" without auth).
func (s *Server) Token() string { return s.token }

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Run listens on cfg.Addr and serves until ctx ends, running the scheduled
// hunts and the watcher meanwhile; it then shuts down gracefully. ready, when
// not nil, receives the bound address once listening.
func (s *Server) Run(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w (change --addr)", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln, ready)
}

// Serve is Run on an existing listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener, ready func(addr string)) error {
	hs := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       3 * time.Minute, // Firehose gives an endpoint 3 minutes
		WriteTimeout:      s.cfg.QueryTimeout + 3*time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.background(ctx)
	}()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	var serr error
	select {
	case serr = <-errc:
	case <-ctx.Done():
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		serr = hs.Shutdown(sctx)
		scancel()
		<-errc
	}
	cancel()
	wg.Wait()
	s.Close()
	if errors.Is(serr, http.ErrServerClosed) {
		serr = nil
	}
	return serr
}
