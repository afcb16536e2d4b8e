package flowlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// vector is one line of testdata/conformance.jsonl.
type vector struct {
	ID       string          `json:"id"`
	Format   string          `json:"format"`
	Line     string          `json:"line"`
	Expected json.RawMessage `json:"expected"`
	Note     string          `json:"note"`

	layout Layout
	want   map[string]any // nil for an ERROR vector
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open("testdata/conformance.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v vector
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if v.ID == "" {
			continue // the _about line
		}
		if v.layout, err = ParseLayout(v.Format); err != nil {
			t.Fatalf("%s: %v", v.ID, err)
		}
		if string(v.Expected) != `"ERROR"` {
			dec := json.NewDecoder(bytes.NewReader(v.Expected))
			dec.UseNumber()
			if err := dec.Decode(&v.want); err != nil {
				t.Fatalf("%s: %v", v.ID, err)
			}
		}
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 50 {
		t.Fatalf("loaded %d vectors, want 50", len(vs))
	}
	return vs
}

// decodeAll decodes data and returns copies of every record and reject.
func decodeAll(t testing.TB, data []byte, opts DecodeOptions) ([]Record, []Reject, Stats, error) {
	t.Helper()
	var recs []Record
	var rejects []Reject
	st, err := Decode(context.Background(), bytes.NewReader(data), opts, func(b *Batch) error {
		for i := 0; i < b.Len; i++ {
			var r Record
			b.Record(i, &r)
			recs = append(recs, r)
		}
		return nil
	}, func(r Reject) error {
		rejects = append(rejects, r)
		return nil
	})
	return recs, rejects, st, err
}

// diffRecord compares r with the expected values of a vector, as "(-got +want)".
func diffRecord(r *Record, l Layout, want map[string]any) string {
	var b strings.Builder
	for _, f := range l.Fields {
		w, ok := want[f.String()]
		if !ok {
			fmt.Fprintf(&b, "vector lacks %s\n", f)
			continue
		}
		var wv any
		switch w := w.(type) {
		case json.Number:
			n, err := w.Int64()
			if err != nil {
				fmt.Fprintf(&b, "%s: bad number %s\n", f, w)
			}
			wv = n
		default:
			wv = w
		}
		if got := r.Value(f); got != wv {
			fmt.Fprintf(&b, "%s: -%#v +%#v\n", f, got, wv)
		}
	}
	for _, f := range AllFields() {
		if !l.Has(f) && r.Has(f) {
			fmt.Fprintf(&b, "%s: -%#v +absent\n", f, r.Value(f))
		}
	}
	return b.String()
}

func TestConformanceText(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			// Once with the layout given, once with a header line: both must agree.
			inputs := []struct {
				name string
				data string
				opts DecodeOptions
			}{
				{"layout", v.Line + "\n", DecodeOptions{Object: v.ID, Layout: v.layout, Format: FormatText}},
				{"header", v.layout.Header() + "\n" + v.Line, DecodeOptions{Object: v.ID}},
			}
			for _, in := range inputs {
				recs, rejects, st, err := decodeAll(t, []byte(in.data), in.opts)
				if err != nil {
					t.Fatalf("%s: %v", in.name, err)
				}
				if v.want == nil {
					if len(recs) != 0 || len(rejects) != 1 {
						t.Fatalf("%s: ERROR vector gave %d records, %d rejects", in.name, len(recs), len(rejects))
					}
					rj := rejects[0]
					if rj.Object != v.ID || rj.Line != st.Lines || rj.Text != v.Line || !strings.Contains(rj.Error(), v.ID+" line") {
						t.Fatalf("%s: reject %+v does not name object, line and text", in.name, rj)
					}
					t.Logf("%s: %v", in.name, rj)
					continue
				}
				if len(rejects) != 0 || len(recs) != 1 {
					t.Fatalf("%s: %d records, rejects %v", in.name, len(recs), rejects)
				}
				if d := diffRecord(&recs[0], v.layout, v.want); d != "" {
					t.Fatalf("%s: (-got +want)\n%s", in.name, d)
				}
				// Encoding gives back the line.
				if got := recs[0].Text(v.layout); got != v.Line {
					t.Fatalf("%s: encode:\n got %q\nwant %q", in.name, got, v.Line)
				}
			}
		})
	}
}

func TestConformanceErrorsWithoutRejectCallback(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.want != nil {
			continue
		}
		_, err := Decode(context.Background(), strings.NewReader(v.Line), DecodeOptions{Object: "s3://b/" + v.ID, Layout: v.layout},
			func(*Batch) error { return nil }, nil)
		var rj Reject
		if err == nil || !asReject(err, &rj) || rj.Line != 1 {
			t.Fatalf("%s: err = %v, want a Reject of line 1", v.ID, err)
		}
		if !strings.HasPrefix(err.Error(), "cannot decode s3://b/"+v.ID+" line 1: ") {
			t.Fatalf("%s: unclear error %q", v.ID, err)
		}
	}
}

func asReject(err error, rj *Reject) bool {
	r, ok := err.(Reject)
	if ok {
		*rj = r
	}
	return ok
}
