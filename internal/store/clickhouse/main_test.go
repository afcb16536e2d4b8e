package clickhouse

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// The tests run against a two-shard cluster that TestMain starts with
// scripts/clickhouse.sh (installing clickhouse-server when missing). Set
// FLOWHUNT_CLICKHOUSE to a store URL to use a running cluster instead.
// Without a server the tests skip, except under CI=true where they fail.

var (
	clusterURL string // base URL without the database
	clusterDir string
	clusterErr error
	dbSeq      atomic.Int64
)

func TestMain(m *testing.M) {
	code := func() int {
		if u := os.Getenv("FLOWHUNT_CLICKHOUSE"); u != "" {
			clusterURL = u
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "flowhunt-ch-")
		if err != nil {
			clusterErr = err
			return m.Run()
		}
		clusterDir = dir
		defer os.RemoveAll(dir)
		script, _ := filepath.Abs("../../../scripts/clickhouse.sh")
		// Ports of their own per test process, so parallel packages and a
		// developer's server do not collide.
		port := 18200 + (os.Getpid()%400)*2
		os.Setenv("FLOWHUNT_CH_PORT", fmt.Sprint(port))
		out, err := exec.Command(script, "start", dir).Output()
		if err != nil {
			msg := ""
			if ee, ok := err.(*exec.ExitError); ok {
				msg = string(ee.Stderr)
			}
			clusterErr = fmt.Errorf("cannot start clickhouse: %v: %s", err, msg)
			return m.Run()
		}
		defer exec.Command(script, "stop", dir).Run()
		clusterURL = strings.TrimSpace(string(out))
		return m.Run()
	}()
	os.Exit(code)
}

// needCluster skips (or fails under CI=true) without a cluster.
func needCluster(t testing.TB) {
	t.Helper()
	if clusterURL != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("clickhouse is required under CI=true: %v", clusterErr)
	}
	t.Skipf("no clickhouse: %v", clusterErr)
}

// freshURL returns the cluster URL with a database of its own.
func freshURL(t testing.TB) string {
	t.Helper()
	needCluster(t)
	base, q, _ := strings.Cut(clusterURL, "?")
	i := strings.LastIndex(base, "/")
	db := fmt.Sprintf("fh_test_%d_%d", os.Getpid(), dbSeq.Add(1))
	u := base[:i+1] + db
	if q != "" {
		u += "?" + q
	}
	return u
}

func openFresh(t testing.TB) *Store {
	t.Helper()
	u := freshURL(t)
	s, err := Open(context.Background(), Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, n := range s.shards {
			n.exec(context.Background(), "DROP DATABASE IF EXISTS "+quoteIdent(s.db), nil)
		}
		s.Close()
	})
	return s
}
