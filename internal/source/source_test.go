package source

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/source/s3fake"
)

func TestKeyTime(t *testing.T) {
	f := func(key, want string, wantSpan time.Duration) {
		t.Helper()
		got, span, ok := KeyTime(key)
		if want == "" {
			if ok {
				t.Errorf("KeyTime(%q) = %v, want no time", key, got)
			}
			return
		}
		if !ok || got.Format(time.RFC3339) != want || span != wantSpan {
			t.Errorf("KeyTime(%q) = %v %v %v, want %s %v", key, got, span, ok, want, wantSpan)
		}
	}
	f("AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz", "2018-06-20T16:20:00Z", 5*time.Minute)
	f("prefix/AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/", "2018-06-20T00:00:00Z", 24*time.Hour)
	f("AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/07/", "2018-06-20T07:00:00Z", time.Hour)
	f("AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06", "2018-06-01T00:00:00Z", 30*24*time.Hour)
	f("AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/", "2018-01-01T00:00:00Z", 365*24*time.Hour)
	f("p/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2026/month=11/day=02/", "2026-11-02T00:00:00Z", 24*time.Hour)
	f("AWSLogs/aws-account-id=1/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2026/month=11/day=02/hour=13/x.log.parquet", "2026-11-02T13:00:00Z", time.Hour)
	f("AWSLogs/123456789012/vpcflowlogs/us-east-1/", "", 0)
	f("logs/flows.log.gz", "", 0)
	f("AWSLogs/1/vpcflowlogs/us-east-1/2018/13/01/", "", 0)
}

func TestTimeRangeMatch(t *testing.T) {
	day := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	r := TimeRange{From: day("2026-11-02T00:00:00Z"), To: day("2026-11-03T00:00:00Z")}
	f := func(key string, want bool) {
		t.Helper()
		if got := r.Match(key); got != want {
			t.Errorf("Match(%q) = %v, want %v", key, got, want)
		}
	}
	base := "AWSLogs/1/vpcflowlogs/us-east-1/"
	f(base+"2026/11/01/", true) // the last minutes of the day before (slack)
	f(base+"2026/10/31/", false)
	f(base+"2026/11/02/", true)
	f(base+"2026/11/03/", true) // first minutes of the next day (slack)
	f(base+"2026/11/04/", false)
	f(base+"2026/11/01/1_vpcflowlogs_us-east-1_fl-1_20261101T2340Z_ab.log.gz", false)
	f(base+"2026/11/01/1_vpcflowlogs_us-east-1_fl-1_20261101T2355Z_ab.log.gz", true)
	f(base+"2026/11/03/1_vpcflowlogs_us-east-1_fl-1_20261103T0010Z_ab.log.gz", true)
	f(base+"2026/11/03/1_vpcflowlogs_us-east-1_fl-1_20261103T0020Z_ab.log.gz", false)
	f("anything.log", true)
	f(base+"2027/", false)
	f(base+"2026/", true)
}

// keys of a default-layout delivery over three days.
var keys = []string{
	"AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/11/01/111122223333_vpcflowlogs_us-east-1_fl-1_20261101T1200Z_aa.log.gz",
	"AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/11/02/111122223333_vpcflowlogs_us-east-1_fl-1_20261102T1200Z_bb.log.gz",
	"AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/11/03/111122223333_vpcflowlogs_us-east-1_fl-1_20261103T1200Z_cc.log.gz",
}

func rangeNov2() TimeRange {
	return TimeRange{From: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)}
}

func TestLocalList(t *testing.T) {
	dir := t.TempDir()
	for _, k := range keys {
		p := filepath.Join(dir, "data", k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(k), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	all, err := Open(ctx, filepath.Join(dir, "data"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := all.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 {
		t.Fatalf("listed %d objects, want 3: %v", len(objs), objs)
	}
	src, err := Open(ctx, filepath.Join(dir, "data"), Config{Range: rangeNov2()})
	if err != nil {
		t.Fatal(err)
	}
	objs, err = src.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || !strings.HasSuffix(objs[0].Key, "_bb.log.gz") || objs[0].Size != int64(len(keys[1])) {
		t.Fatalf("listed %v, want only the object of 2026-11-02", objs)
	}
	if objs[0].Version() == "" || objs[0].ModTime.IsZero() {
		t.Errorf("object %v has no version", objs[0])
	}
	if _, err := Open(ctx, filepath.Join(dir, "missing"), Config{}); err == nil {
		t.Errorf("Open of a missing path succeeded")
	}
}

func TestS3List(t *testing.T) {
	srv := s3fake.Start(t, "flowlogs")
	for _, k := range keys {
		srv.Put(t, "prefix/"+k, []byte("content of "+k))
	}
	srv.Put(t, "other/readme.txt", []byte("not flow logs"))
	ctx := context.Background()
	cfg := Config{Endpoint: srv.URL, PathStyle: true, Region: "us-east-1", Credentials: srv.Credentials}
	src, err := Open(ctx, "s3://flowlogs/prefix/", cfg)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := src.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 {
		t.Fatalf("listed %d objects, want 3: %v", len(objs), objs)
	}
	cfg.Range = rangeNov2()
	src, err = Open(ctx, "s3://flowlogs/prefix/", cfg)
	if err != nil {
		t.Fatal(err)
	}
	objs, err = src.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := "s3://flowlogs/prefix/" + keys[1]
	if len(objs) != 1 || objs[0].Key != want || objs[0].ETag == "" {
		t.Fatalf("listed %+v, want only %s with an ETag", objs, want)
	}
	rc, err := src.Open(ctx, objs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "content of "+keys[1] {
		t.Errorf("read %q", b)
	}
}

// TestS3OpenReplaced: an object replaced after it was listed is not read
// as the version listed (the store would record the wrong version).
func TestS3OpenReplaced(t *testing.T) {
	srv := s3fake.Start(t, "flowlogs")
	srv.Put(t, "p/"+keys[0], []byte("first version"))
	ctx := context.Background()
	src, err := Open(ctx, "s3://flowlogs/p/", Config{Endpoint: srv.URL, PathStyle: true, Region: "us-east-1", Credentials: srv.Credentials})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := src.List(ctx)
	if err != nil || len(objs) != 1 {
		t.Fatalf("listed %v, %v", objs, err)
	}
	srv.Put(t, "p/"+keys[0], []byte("second version, longer"))
	rc, err := src.Open(ctx, objs[0])
	if err == nil {
		b, _ := io.ReadAll(rc)
		rc.Close()
		t.Fatalf("read %q as the version listed", b)
	}
	if !strings.Contains(err.Error(), keys[0]) {
		t.Fatalf("error %v does not name the object", err)
	}
}
