package flowlog

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"testing"
)

// encodings turn records of one layout into an object of each delivery
// format, for round-trip tests.
var encodings = []struct {
	name   string
	format Format
	encode func(t testing.TB, l Layout, recs []Record) []byte
}{
	{"text", FormatText, func(t testing.TB, l Layout, recs []Record) []byte {
		b := []byte(l.Header() + "\n")
		for i := range recs {
			b = append(recs[i].AppendText(b, l), '\n')
		}
		return b
	}},
	{"text-gzip", FormatAuto, func(t testing.TB, l Layout, recs []Record) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		io.WriteString(zw, l.Header()+"\n")
		for i := range recs {
			zw.Write(append(recs[i].AppendText(nil, l), '\n'))
		}
		zw.Close()
		return buf.Bytes()
	}},
	{"cloudwatch-export", FormatAuto, func(t testing.TB, l Layout, recs []Record) []byte {
		var b []byte
		for i := range recs {
			b = AppendCloudWatchExportEvent(b, &recs[i], l, "eni-0123-all")
		}
		return b
	}},
	{"cloudwatch-console", FormatCloudWatch, func(t testing.TB, l Layout, recs []Record) []byte {
		var b []byte
		for i := range recs {
			b = append(b, "2018-09-22T20:28:14.000Z "...)
			b = append(recs[i].AppendText(b, l), '\n')
		}
		return b
	}},
	{"cloudwatch-subscription", FormatAuto, func(t testing.TB, l Layout, recs []Record) []byte {
		var buf bytes.Buffer
		if err := EncodeCloudWatchSubscription(&buf, "123456789012", "vpc-flow-logs", "eni-0123-all", l, recs); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}},
	{"cloudwatch-subscription-base64", FormatAuto, func(t testing.TB, l Layout, recs []Record) []byte {
		var buf bytes.Buffer
		if err := EncodeCloudWatchSubscription(&buf, "123456789012", "vpc-flow-logs", "eni-0123-all", l, recs); err != nil {
			t.Fatal(err)
		}
		return []byte(base64.StdEncoding.EncodeToString(buf.Bytes()))
	}},
	{"firehose", FormatAuto, func(t testing.TB, l Layout, recs []Record) []byte {
		var b []byte
		for i := range recs {
			b = AppendFirehoseRecord(b, &recs[i], l)
		}
		return b
	}},
	{"firehose-concatenated", FormatFirehose, func(t testing.TB, l Layout, recs []Record) []byte {
		var b []byte
		for i := range recs {
			b = AppendFirehoseRecord(b, &recs[i], l)
			b = b[:len(b)-1] // no newline between records
		}
		return b
	}},
	{"parquet", FormatAuto, func(t testing.TB, l Layout, recs []Record) []byte {
		var buf bytes.Buffer
		pw := NewParquetWriter(&buf, l)
		for i := range recs {
			if err := pw.Write(&recs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}},
}

// roundTrip encodes recs in every format, decodes them and compares.
func roundTrip(t testing.TB, l Layout, recs []Record) {
	t.Helper()
	for _, e := range encodings {
		data := e.encode(t, l, recs)
		got, rejects, st, err := decodeAll(t, data, DecodeOptions{Object: e.name, Layout: l, Format: e.format, BatchSize: 3})
		if err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		if len(rejects) != 0 {
			t.Fatalf("%s: rejects %v", e.name, rejects)
		}
		if len(got) != len(recs) || st.Records != int64(len(recs)) {
			t.Fatalf("%s: %d records (stats %d), want %d", e.name, len(got), st.Records, len(recs))
		}
		for i := range recs {
			if !got[i].Equal(&recs[i]) {
				t.Fatalf("%s: record %d:\n got %s\nwant %s", e.name, i, got[i].Text(l), recs[i].Text(l))
			}
		}
	}
}

func TestRoundTripConformance(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.want == nil {
			continue
		}
		recs, _, _, err := decodeAll(t, []byte(v.Line), DecodeOptions{Layout: v.layout})
		if err != nil || len(recs) != 1 {
			t.Fatalf("%s: %v", v.ID, err)
		}
		// Three copies, so batches of 3 and multi-record objects are covered.
		t.Run(v.ID, func(t *testing.T) { roundTrip(t, v.layout, []Record{recs[0], recs[0], recs[0]}) })
	}
}

func TestRoundTripFullLayout(t *testing.T) {
	var r Record
	for _, f := range AllFields() {
		switch {
		case f.Kind().IsInt():
			r.SetInt(f, f.Info().Min+1)
		default:
			r.SetStr(f, "v-"+f.Column())
		}
	}
	r.SetStr(Action, "REJECT")
	r.SetStr(LogStatus, "SKIPDATA")
	r.SetStr(SrcAddr, "10.0.0.1")
	r.SetStr(DstAddr, "2001:db8::1")
	r.SetStr(PktSrcAddr, "198.51.100.7")
	r.SetStr(PktDstAddr, "::ffff:10.0.0.1")
	r.SetInt(Start, 1700000000)
	r.SetInt(End, 1700000060)
	r.SetInt(Bytes, 1<<62)
	var nulls Record
	nulls.SetInt(Version, 11)
	roundTrip(t, FullLayout, []Record{r, nulls, r})
}
