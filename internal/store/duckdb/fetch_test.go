package duckdb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/source/s3fake"
)

// TestS3FetchAhead ingests a bucket of good objects, a truncated one and
// one that is not gzip at all, with objects downloaded ahead and without:
// both stores end with the same rows, the same damaged and failed objects.
func TestS3FetchAhead(t *testing.T) {
	ctx := context.Background()
	srv := s3fake.Start(t, "logs")
	want := 0
	for i := 0; i < 30; i++ {
		at := day0.Add(time.Duration(i) * 10 * time.Minute)
		srv.Put(t, "p/"+objectKey(at), gz(flowText(uint64(i), at, 50+i)))
		want += 50 + i
	}
	cut := gz(flowText(99, day0.Add(20*time.Hour), 3000))
	srv.Put(t, "p/"+objectKey(day0.Add(20*time.Hour)), cut[:len(cut)/2])
	srv.Put(t, "p/"+objectKey(day0.Add(21*time.Hour)), append([]byte{0x1f, 0x8b, 8, 0}, "not a gzip stream"...))
	src, err := source.Open(ctx, "s3://logs/p/", source.Config{Endpoint: srv.URL, PathStyle: true, Credentials: srv.Credentials})
	if err != nil {
		t.Fatal(err)
	}
	run := func(fetchers int) (IngestSummary, int64) {
		s := openStore(t, t.TempDir())
		sum, err := s.Ingest(ctx, []source.Source{src}, IngestOptions{Fetchers: fetchers, Workers: 2, CommitRows: 200})
		if len(sum.Failed) != 1 || err == nil {
			t.Fatalf("fetchers %d: failed %+v, err %v: want the object that is not gzip", fetchers, sum.Failed, err)
		}
		return sum, queryInt(t, s, "SELECT count(*) FROM vpc_flow_logs WHERE source_object NOT LIKE '%T20%'")
	}
	ahead, rowsAhead := run(4)
	direct, rowsDirect := run(-1)
	if rowsAhead != int64(want) || rowsDirect != int64(want) {
		t.Fatalf("rows of the good objects: %d fetched ahead, %d on demand, want %d", rowsAhead, rowsDirect, want)
	}
	if ahead.Ingested != direct.Ingested || ahead.Records != direct.Records || fmt.Sprint(ahead.Damaged) != fmt.Sprint(direct.Damaged) {
		t.Fatalf("fetched ahead %+v, on demand %+v", ahead, direct)
	}
}
