package detect_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
)

func sample(id string, sev detect.Severity) detect.Finding {
	return detect.Finding{ID: id, Detector: "beaconing", Title: "beacon " + id, Severity: sev, Score: 80,
		MITRE: []string{"T1071"}, Entity: detect.Entity{Kind: detect.EntityIP, Value: "10.0.2.20"},
		Counterparts: []string{"203.0.113.9"}, Ports: []int{443}, FirstSeen: time.Unix(day0, 0).UTC(), LastSeen: time.Unix(day0+3600, 0).UTC(),
		SQL: "SELECT 1", Status: detect.StatusOpen}
}

func TestFindingStoreKeepsStatusAcrossReruns(t *testing.T) {
	st := detect.NewFindingStore(t.TempDir())
	if _, err := st.Merge([]detect.Finding{sample("fh-aaaaaaaa01", detect.High), sample("fh-bbbbbbbb02", detect.Medium)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetStatus("fh-aaaaaaaa", detect.StatusFalsePositive); err != nil { // unique prefix
		t.Fatal(err)
	}
	// A re-run finds the same finding with new evidence: updated, not duplicated.
	again := sample("fh-aaaaaaaa01", detect.Critical)
	got, err := st.Merge([]detect.Finding{again})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Status != detect.StatusFalsePositive {
		t.Fatalf("status lost: %s", got[0].Status)
	}
	all, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Severity != detect.Critical || all[0].Status != detect.StatusFalsePositive {
		t.Fatalf("after rerun: %+v", all)
	}
	if _, err := st.Get("fh-zzzzzzzz"); !errors.Is(err, detect.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestFindingStoreConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := detect.NewFindingStore(dir)
			if _, err := st.Merge([]detect.Finding{sample(detect.StableID("x", detect.Entity{Kind: "ip", Value: string(rune('a' + i))}, "", time.Time{}), detect.Low)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	all, err := detect.NewFindingStore(dir).Load()
	if err != nil || len(all) != 8 {
		t.Fatalf("want 8 findings from 8 writers, got %d (%v)", len(all), err)
	}
}

func TestStableID(t *testing.T) {
	e := detect.Entity{Kind: detect.EntityIP, Value: "10.0.0.1"}
	d1 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	if detect.StableID("a", e, "k", d1) != detect.StableID("a", e, "k", d1.Add(time.Hour)) {
		t.Fatal("same detector, entity and day must give the same id")
	}
	if detect.StableID("a", e, "k", d1) == detect.StableID("b", e, "k", d1) || detect.StableID("a", e, "k", d1) == detect.StableID("a", e, "k", d1.Add(24*time.Hour)) {
		t.Fatal("detector and window must change the id")
	}
}

func TestExports(t *testing.T) {
	f := sample("fh-0123456789abcdef", detect.High)
	o := detect.OCSF(&f)
	if o["class_uid"] != 2004 || o["severity_id"] != 4 || o["type_uid"] != 200401 {
		t.Fatalf("ocsf: %v %v %v", o["class_uid"], o["severity_id"], o["type_uid"])
	}
	a := detect.ASFF(&f, detect.ASFFOptions{AccountID: "123456789012", Region: "eu-west-1"})
	// Required by BatchImportFindings.
	for _, k := range []string{"SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt", "UpdatedAt", "Severity", "Title", "Description", "Resources"} {
		if a[k] == nil || a[k] == "" {
			t.Errorf("asff: missing %s", k)
		}
	}
	if a["ProductArn"] != "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default" {
		t.Errorf("asff ProductArn %v", a["ProductArn"])
	}
	if _, err := json.Marshal(a); err != nil {
		t.Fatal(err)
	}
	var got []detect.Finding
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var batch []detect.Finding
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
			w.WriteHeader(400)
			return
		}
		got = append(got, batch...)
	}))
	defer srv.Close()
	fs := make([]detect.Finding, 150)
	for i := range fs {
		fs[i] = f
	}
	if err := detect.PostWebhook(context.Background(), srv.Client(), srv.URL, fs); err != nil {
		t.Fatal(err)
	}
	if len(got) != 150 || got[0].Severity != detect.High {
		t.Fatalf("webhook received %d findings", len(got))
	}
}
