package clickhouse

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store"
	"github.com/flowhunt/flowhunt/internal/store/storetest"
)

// TestShardKilledMidIngest kills shard 2 while objects are being inserted,
// restarts the cluster, and checks that re-running the ingest leaves
// exactly the data set's records: the partial rows of the objects whose
// "done" ledger row is missing are deleted and stored again.
func TestShardKilledMidIngest(t *testing.T) {
	needCluster(t)
	if clusterDir == "" {
		t.Skip("FLOWHUNT_CLICKHOUSE names an outside cluster: not killing its shards")
	}
	d := storetest.Generate(t)
	u := freshURL(t)
	ctx := context.Background()
	s, err := Open(ctx, Config{URL: u, InsertRows: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, n := range s.shards {
			n.exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(s.db), nil)
		}
	}()
	src, err := source.Open(ctx, d.S3, source.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pidb, err := os.ReadFile(filepath.Join(clusterDir, "shard2", "pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(pidb)))
	var once sync.Once
	killed := false
	opts := store.IngestOptions{Workers: 2, Progress: func(p store.Progress) {
		if p.Objects >= p.ObjectsTotal/3 {
			once.Do(func() {
				killed = syscall.Kill(pid, syscall.SIGKILL) == nil
				// Reap it: the process was started by the script, not us,
				// so wait for it to disappear.
				for syscall.Kill(pid, 0) == nil {
					var ws syscall.WaitStatus
					syscall.Wait4(pid, &ws, 0, nil)
				}
			})
		}
	}}
	first, err := s.IngestSources(ctx, []source.Source{src}, opts)
	if !killed {
		t.Fatal("shard 2 was not killed")
	}
	if err == nil {
		t.Fatalf("ingest with a dead shard succeeded: %+v", first)
	}
	t.Logf("ingest with shard 2 killed: %v (ingested %d of %d objects)", cut(err.Error(), 200), first.Ingested, first.Listed)

	script, _ := filepath.Abs("../../../scripts/clickhouse.sh")
	if out, err := exec.Command(script, "start", clusterDir).CombinedOutput(); err != nil {
		t.Fatalf("cannot restart cluster: %v: %s", err, out)
	}
	second, err := s.IngestSources(ctx, []source.Source{src}, store.IngestOptions{Workers: 2})
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if second.Ingested+second.Unchanged != second.Listed || second.Ingested == 0 {
		t.Errorf("re-run summary %+v: want every object stored or unchanged, some stored", second)
	}
	r, err := s.Reader(ctx, store.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, r, "SELECT count(*) FROM vpc_flow_logs"); n != d.Records {
		t.Errorf("count(*) after re-run = %d, want exactly %d", n, d.Records)
	}
	if n := storetest.Count(t, r, "SELECT count(*) FROM (SELECT source_object, source_line FROM vpc_flow_logs GROUP BY source_object, source_line HAVING count(*) > 1)"); n != 0 {
		t.Errorf("%d (object, line) pairs stored twice", n)
	}
}
