package flowlog

import (
	"bytes"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestParquetShapes reads Parquet written by other writers: "-" strings are
// NULL, a number stored as a string is accepted, names may use '-', unknown
// columns are ignored, and a bad value is a reject naming the row.
func TestParquetShapes(t *testing.T) {
	type row struct {
		Version   int32   `parquet:"version"`
		AccountID string  `parquet:"account-id"`
		SrcPort   string  `parquet:"srcport"`
		DstPort   *int64  `parquet:"dstport,optional"`
		Action    string  `parquet:"action"`
		Extra     float64 `parquet:"extra_column"`
	}
	p := func(v int64) *int64 { return &v }
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf)
	if _, err := w.Write([]row{
		{2, "-", "443", p(22), "ACCEPT", 1.5},
		{2, "unknown", "-", nil, "REJECT", 0},
		{2, "123456789012", "70000", p(22), "ACCEPT", 0},
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs, rejects, st, err := decodeAll(t, buf.Bytes(), DecodeOptions{Object: "x.log.parquet"})
	if err != nil {
		t.Fatal(err)
	}
	l := NewLayout(Version, AccountID, SrcPort, DstPort, Action)
	if len(recs) != 2 || st.Lines != 3 {
		t.Fatalf("%d records, stats %+v", len(recs), st)
	}
	for i, want := range []string{"2 - 443 22 ACCEPT", "2 unknown - - REJECT"} {
		if got := recs[i].Text(l); got != want {
			t.Fatalf("row %d: %q, want %q", i+1, got, want)
		}
	}
	if recs[0].Has(AccountID) {
		t.Fatal(`"-" must be NULL`)
	}
	if len(rejects) != 1 || rejects[0].Line != 3 || rejects[0].Reason != `srcport "70000" is out of range 0..65535` {
		t.Fatalf("rejects %+v", rejects)
	}

	// Not Parquet at all, but named so and forced.
	if _, _, _, err := decodeAll(t, []byte("PAR1 not really"), DecodeOptions{Object: "bad.parquet", Format: FormatParquet}); err == nil {
		t.Fatal("corrupt parquet decoded")
	}
}
