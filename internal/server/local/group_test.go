package local

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/flowhunt/flowhunt/internal/server"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

func groupLine(req, i int) string {
	return fmt.Sprintf("2 493812776102 eni-0f1e2d3c4b5a69788 198.51.%d.%d 10.0.1.10 %d 443 6 12 %d 1793520000 1793520060 ACCEPT OK",
		req, i%250+1, 1024+i, 600+i)
}

// TestGroupCommitAttributesBadLines: requests committed in one group, good
// and bad lines mixed, each get exactly their own bad lines and records,
// not the group's.
func TestGroupCommitAttributesBadLines(t *testing.T) {
	ctx := context.Background()
	b, err := Open(ctx, Config{Store: duckdb.Config{Dir: filepath.Join(t.TempDir(), "data")}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const n = 6
	type want struct {
		records int64
		bad     []int64
	}
	wants := make([]want, n)
	objs := make([]server.Object, n)
	for k := 0; k < n; k++ {
		var lines []string
		for i := 0; i < 10+k; i++ {
			if (i+k)%4 == 0 && k%3 != 1 { // requests 1 and 4 are all good
				lines = append(lines, "2 bad line "+fmt.Sprint(k, i))
				wants[k].bad = append(wants[k].bad, int64(i+1))
				continue
			}
			lines = append(lines, groupLine(k, i))
			wants[k].records++
		}
		objs[k] = server.Object{Key: fmt.Sprintf("firehose/g-%d", k), Body: []byte(strings.Join(lines, "\n") + "\n")}
	}
	// Hold the commit lock until all n requests wait: they are then
	// committed in one group by whichever becomes the leader.
	g := &b.group
	g.run.Lock()
	results := make([]server.IngestResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range objs {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			results[k], errs[k] = b.IngestObject(ctx, objs[k])
		}(k)
	}
	for {
		g.mu.Lock()
		queued := len(g.pending)
		g.mu.Unlock()
		if queued == n {
			break
		}
		runtime.Gosched()
	}
	g.run.Unlock()
	wg.Wait()
	m, err := b.store.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]bool{}
	for _, o := range objs {
		if info := m.Objects[o.Key]; info != nil {
			runs[info.Batch] = true
		}
	}
	if len(runs) != 1 {
		t.Fatalf("%d requests stored by %d ingest runs, want 1 (one group)", n, len(runs))
	}
	for k := range objs {
		if errs[k] != nil {
			t.Fatalf("request %d: %v", k, errs[k])
		}
		r := results[k]
		var got []int64
		for _, l := range r.BadLines {
			got = append(got, l.Line)
		}
		sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
		if r.Records != wants[k].records || r.Rejects != int64(len(wants[k].bad)) || fmt.Sprint(got) != fmt.Sprint(wants[k].bad) || r.BadLinesError != "" {
			t.Errorf("request %d: records %d rejects %d bad lines %v (%s), want %d %d %v",
				k, r.Records, r.Rejects, got, r.BadLinesError, wants[k].records, len(wants[k].bad), wants[k].bad)
		}
	}
}
