package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/server"
	"github.com/flowhunt/flowhunt/internal/server/local"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

func init() {
	register("serve", "web console, HTTP API and Firehose endpoint; watch S3 and re-run hunts", runServe)
}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runServe(ctx context.Context, args []string) error {
	fs := newFlags("serve", "[flags]")
	data := fs.String("data", "", "data directory (default $FLOWHUNT_DATA or ./flowhunt-data)")
	storeU := storeFlag(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	noAuth := fs.Bool("no-auth", false, "serve without a token (only on a loopback address)")
	firehoseKey := fs.String("firehose-key", "", "X-Amz-Firehose-Access-Key to expect (default: the API token; env FLOWHUNT_FIREHOSE_KEY)")
	logFormat := fs.String("log-format", "", "field layout of Firehose records, as the flow log's LogFormat (default: AWS's default format)")
	internal := fs.String("internal", "", "internal CIDRs besides RFC 1918, 100.64/10 and fc00::/7 (comma-separated)")
	var watch multiFlag
	fs.Var(&watch, "watch", "poll this source (s3://bucket/prefix or a directory) for new objects; repeatable")
	watchEvery := fs.Duration("watch-every", time.Minute, "how often --watch sources are polled")
	watchSince := fs.String("watch-since", "", "only watch objects of the last D (24h, 7d), judged from their keys")
	region := fs.String("region", "", "S3 region of --watch sources")
	endpoint := fs.String("endpoint", "", "S3-compatible endpoint URL of --watch sources")
	pathStyle := fs.Bool("path-style", false, "path-style S3 addressing")
	huntEvery := fs.Duration("hunt-every", 15*time.Minute, "re-run the detectors this often (0 disables)")
	huntConfig := fs.String("config", "", "hunt configuration YAML (detectors, thresholds, allowlists, intel lists, rules)")
	intel := fs.String("intel", "", "threat-intel lists (one IP or CIDR per line), comma-separated")
	inventory := fs.String("inventory", "", "directory of describe-* JSON (security groups, ENIs, NACLs) for the audit page and entity context")
	webhook := fs.String("webhook", "", "POST new findings at or above --webhook-severity to this URL")
	webhookSev := fs.String("webhook-severity", "high", "lowest severity posted to --webhook")
	maxRows := fs.Int("max-rows", 10000, "row cap of query results")
	timeout := fs.Duration("timeout", 60*time.Second, "deadline of one query")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	dir := dataDir(*data)
	cidrs, err := parseCIDRList(*internal)
	if err != nil {
		return fmt.Errorf("%w: --internal: %v", errUsage, err)
	}
	lcfg := local.Config{
		Store:  duckdb.Config{Dir: dir, InternalCIDRs: cidrs},
		Watch:  watch,
		Source: source.Config{Region: *region, Endpoint: *endpoint, PathStyle: *pathStyle},
	}
	if *logFormat != "" {
		if lcfg.Layout, err = flowlog.ParseLayout(*logFormat); err != nil {
			return fmt.Errorf("%w: --log-format: %v", errUsage, err)
		}
	}
	if *watchSince != "" {
		if lcfg.WatchSince, err = parseAgeFlag(*watchSince); err != nil {
			return fmt.Errorf("%w: --watch-since: %v", errUsage, err)
		}
	}
	if lcfg.Hunt, err = loadHuntConfig(*huntConfig, *intel); err != nil {
		return err
	}
	if *inventory != "" {
		if lcfg.Inventory, err = enrich.LoadInventoryDir(*inventory); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create data directory %s: %w", dir, err)
	}
	cfg := server.Config{
		Addr: *addr, DataDir: dir, NoAuth: *noAuth,
		FirehoseKey: *firehoseKey, MaxRows: *maxRows, QueryTimeout: *timeout,
		HuntEvery: *huntEvery, WatchEvery: *watchEvery, Webhook: *webhook, WebhookMin: *webhookSev,
	}
	if cfg.FirehoseKey == "" {
		cfg.FirehoseKey = os.Getenv("FLOWHUNT_FIREHOSE_KEY")
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	created := false
	if !cfg.NoAuth {
		if cfg.Token, created, err = server.LoadOrCreateToken(dir); err != nil {
			return err
		}
	}
	if storeURL(*storeU) != "" {
		// Flows on a ClickHouse cluster; token and findings stay in dir.
		if lcfg.Backend, err = openStore(ctx, *storeU, *data, cidrs); err != nil {
			return err
		}
	}
	b, err := local.Open(ctx, lcfg)
	if err != nil {
		return err
	}
	defer b.Close()
	srv, err := server.New(cfg, b.Deps())
	if err != nil {
		return err
	}
	return srv.Run(ctx, func(bound string) {
		fmt.Fprintf(os.Stderr, "flowhunt serve: console and API on http://%s/ (data %s)\n", bound, dir)
		switch {
		case cfg.NoAuth:
			fmt.Fprintf(os.Stderr, "flowhunt serve: no token required (--no-auth, loopback only)\n")
		case created:
			fmt.Fprintf(os.Stderr, "flowhunt serve: new API token (shown once; kept in %s/%s, mode 0600):\n  %s\n  open http://%s/?token=%s\n",
				dir, server.TokenFile, cfg.Token, bound, cfg.Token)
		default:
			fmt.Fprintf(os.Stderr, "flowhunt serve: token in %s/%s\n", dir, server.TokenFile)
		}
		fmt.Fprintf(os.Stderr, "flowhunt serve: Firehose HTTP endpoint at http://%s/firehose\n", bound)
	})
}
