package flowlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/flowhunt/flowhunt/internal/inflate/inflatetest"
)

const good = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"

func TestBadLines(t *testing.T) {
	f := func(line, wantReason string) {
		t.Helper()
		// The bad line sits between two good ones, which must survive.
		in := DefaultLayout.Header() + "\n" + good + "\n" + line + "\n" + good + "\n"
		recs, rejects, st, err := decodeAll(t, []byte(in), DecodeOptions{Object: "s3://b/k.log", MaxLineBytes: 200})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 || st.Records != 2 || st.Rejects != 1 || st.Lines != 4 || st.Headers != 1 {
			t.Fatalf("%q: %d records, stats %+v", line, len(recs), st)
		}
		if len(rejects) != 1 {
			t.Fatalf("%q: rejects %v", line, rejects)
		}
		rj := rejects[0]
		if rj.Object != "s3://b/k.log" || rj.Line != 3 || !strings.Contains(rj.Reason, wantReason) {
			t.Fatalf("%q: reject %+v, want line 3 and reason containing %q", line, rj, wantReason)
		}
		if len(line) <= 200 && rj.Text != strings.ToValidUTF8(line, "\uFFFD") {
			t.Fatalf("reject text %q, want %q", rj.Text, line)
		}
	}
	repl := func(old, new string) string { return strings.Replace(good, old, new, 1) }
	f(repl(" OK", ""), "has 13 values, want 14")
	f(good+" extra", "has 15 values, want 14")
	f(repl(" 22 ", "  22 "), "two spaces in a row")
	f(good+" ", "has 15 values")
	f(repl(" 22 ", " ssh "), `dstport is not a number: "ssh"`)
	f(repl(" 22 ", " 70000 "), `dstport "70000" is out of range 0..65535`)
	f(repl(" 20641 ", " -1 "), `srcport is not a number: "-1"`)
	f(repl(" 6 ", " 256 "), "protocol")
	f(repl("2 ", "1 "), `version "1" is out of range 2..255`)
	f(repl(" 4249 ", " 99999999999999999999 "), "bytes")
	f(repl("ACCEPT", "ALLOW"), `action "ALLOW" is not ACCEPT, REJECT or -`)
	f(repl("172.31.16.139", "172.31.16.300"), `srcaddr "172.31.16.300" is not an IP address`)
	f(repl("172.31.16.21", "host.example"), `dstaddr "host.example" is not an IP address`)
	f(repl(" OK", " ok"), `log-status "ok" is not OK, NODATA, SKIPDATA or -`)
	f(repl("1418530010 1418530070", "1418530070 1418530010"), "start 1418530070 is after end 1418530010")
	f(repl("eni-", "eni-\xff"), "invalid UTF-8")
	// Invalid UTF-8 is the reason wherever it stands, even in a value that
	// is wrong anyway: a number, an address, the action, the last value.
	f(repl(" 20641 ", " 206\xff41 "), "invalid UTF-8")
	f(repl("172.31.16.139", "172.31.\xc0.139"), "invalid UTF-8")
	f(repl("ACCEPT", "ACC\xe9PT"), "invalid UTF-8")
	f(repl(" OK", " OK\xff"), "invalid UTF-8")
	f(repl(" OK", " OK \xff"), "invalid UTF-8")
	f(strings.Repeat("x", 300), "longer than the limit of 200 bytes")
	f(strings.Repeat("x", 5000), "longer than the limit of 200 bytes")
	f("{\"message\":\""+good+"\"}", "version is not a number")

	// Valid UTF-8 beyond ASCII is kept in a string value.
	recs, rejects, _, err := decodeAll(t, []byte(repl("eni-", "eni-é")+"\n"), DecodeOptions{})
	if err != nil || len(rejects) != 0 || len(recs) != 1 {
		t.Fatalf("non-ASCII interface-id: %d records, %v, %v", len(recs), rejects, err)
	}
	if v, _ := recs[0].Str(InterfaceID); v != "eni-é1235b8ca123456789" {
		t.Fatalf("interface-id %q", v)
	}
}

func TestValuesKept(t *testing.T) {
	// account-id "unknown", '-' numerics, IPv6, 64-bit bytes, CRLF line ends.
	in := "2 unknown eni-1 2001:db8::1 - - - - 1 9223372036854775807 10 10 - NODATA\r\n"
	recs, rejects, _, err := decodeAll(t, []byte(in), DecodeOptions{})
	if err != nil || len(rejects) != 0 || len(recs) != 1 {
		t.Fatalf("err %v rejects %v", err, rejects)
	}
	r := &recs[0]
	if v, _ := r.Str(AccountID); v != "unknown" {
		t.Fatalf("account-id %q", v)
	}
	if v, _ := r.Str(SrcAddr); v != "2001:db8::1" {
		t.Fatalf("srcaddr %q", v)
	}
	if r.Has(DstAddr) || r.Has(SrcPort) || r.Has(Action) {
		t.Fatal("'-' fields must be NULL")
	}
	if v, _ := r.Int(Bytes); v != 1<<63-1 {
		t.Fatalf("bytes %d", v)
	}
	if v, _ := r.Str(LogStatus); v != "NODATA" {
		t.Fatalf("log-status %q", v)
	}
}

func TestHeaders(t *testing.T) {
	v3 := "version vpc-id srcaddr dstaddr start end"
	in := strings.Join([]string{
		DefaultLayout.Header(),
		good,
		DefaultLayout.Header(), // repeated (concatenated objects): skipped
		good,
		v3, // a different layout mid-stream: later lines follow it
		"3 vpc-1 10.0.0.1 10.0.0.2 5 6",
		"",
	}, "\n")
	var layouts []string
	var lines []int64
	st, err := Decode(context.Background(), strings.NewReader(in), DecodeOptions{Object: "o", BatchSize: 100}, func(b *Batch) error {
		l := "default"
		if !b.Has(Protocol) {
			l = "v3"
		}
		for i := 0; i < b.Len; i++ {
			layouts = append(layouts, l)
			lines = append(lines, b.Line[i])
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(layouts, ","); got != "default,default,v3" {
		t.Fatalf("layouts %s", got)
	}
	if lines[0] != 2 || lines[1] != 4 || lines[2] != 6 || st.Headers != 3 || st.Records != 3 {
		t.Fatalf("lines %v stats %+v", lines, st)
	}

	// A byte order mark before the header is ignored.
	if recs, _, _, err := decodeAll(t, []byte("\xef\xbb\xbf"+DefaultLayout.Header()+"\r\n"+good+"\r\n"), DecodeOptions{}); err != nil || len(recs) != 1 {
		t.Fatalf("BOM: %d records, %v", len(recs), err)
	}

	// A header with an unknown field stops the object: its order cannot be known.
	_, err = Decode(context.Background(), strings.NewReader("version bogus-field\n2 x\n"), DecodeOptions{Object: "o"}, func(*Batch) error { return nil }, nil)
	if !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), `cannot decode o line 1: header`) {
		t.Fatalf("err = %v", err)
	}

	// A record whose first value is a field name is a record, not a header.
	tags := NewLayout(InstanceTag, SrcAddr, DstAddr)
	recs, rejects, st, err := decodeAll(t, []byte("instance-tag srcaddr dstaddr\nweb 10.0.0.1 10.0.0.2\nregion 10.0.0.1 10.0.0.2\n"), DecodeOptions{Object: "o"})
	if err != nil || len(rejects) != 0 || len(recs) != 2 || st.Headers != 1 {
		t.Fatalf("records %d, rejects %v, stats %+v, err %v", len(recs), rejects, st, err)
	}
	if got := recs[1].Text(tags); got != "region 10.0.0.1 10.0.0.2" {
		t.Fatalf("record %q", got)
	}

	// Without header, the given layout applies; the same line decodes
	// differently under a layout of equal length, never guessed from counts.
	alt := NewLayout(Version, InterfaceID, AccountID, SrcAddr, DstAddr, SrcPort, DstPort, Protocol, Packets, Bytes, Start, End, Action, LogStatus)
	recs, _, _, err = decodeAll(t, []byte(good), DecodeOptions{Layout: alt})
	if err != nil || len(recs) != 1 {
		t.Fatal(err)
	}
	if v, _ := recs[0].Str(AccountID); v != "eni-1235b8ca123456789" {
		t.Fatalf("account-id %q", v)
	}
}

func gz(parts ...string) []byte {
	var buf bytes.Buffer
	for _, p := range parts { // one gzip member per part
		zw := kgzip.NewWriter(&buf)
		io.WriteString(zw, p)
		zw.Close()
	}
	return buf.Bytes()
}

func TestGzip(t *testing.T) {
	body := DefaultLayout.Header() + "\n" + strings.Repeat(good+"\n", 2000)
	// Multistream: two members read as one object.
	recs, _, _, err := decodeAll(t, gz(body, strings.Repeat(good+"\n", 10)), DecodeOptions{Object: "a.log.gz"})
	if err != nil || len(recs) != 2010 {
		t.Fatalf("multistream: %d records, %v", len(recs), err)
	}
	// Named .gz but plain, and gzip named .log: detected by magic bytes.
	if recs, _, _, err = decodeAll(t, []byte(body), DecodeOptions{Object: "plain.gz"}); err != nil || len(recs) != 2000 {
		t.Fatalf("plain: %d, %v", len(recs), err)
	}
	// Truncated: the records before the damage are kept, the error says so.
	full := gz(body)
	cut := full[:len(full)*2/3]
	recs, rejects, _, err := decodeAll(t, cut, DecodeOptions{Object: "cut.log.gz"})
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "cut.log.gz") {
		t.Fatalf("err = %v, want ErrTruncated naming the object", err)
	}
	if len(recs) < 500 || len(recs) >= 2000 {
		t.Fatalf("kept %d records before the damage", len(recs))
	}
	for i := range recs {
		if recs[i].Text(DefaultLayout) != good {
			t.Fatalf("record %d damaged: %s", i, recs[i].Text(DefaultLayout))
		}
	}
	if len(rejects) > 1 {
		t.Fatalf("rejects %v", rejects)
	}
	// Truncated inside the gzip header.
	if _, _, _, err = decodeAll(t, full[:5], DecodeOptions{Object: "tiny.gz"}); !errors.Is(err, ErrTruncated) {
		t.Fatalf("header cut: err = %v", err)
	}
	// Corrupt (not truncated): an error, not ErrTruncated.
	bad := append([]byte(nil), full...)
	bad[len(bad)-5] ^= 0xff // CRC32 trailer
	if _, _, _, err = decodeAll(t, bad, DecodeOptions{Object: "crc.gz"}); err == nil || errors.Is(err, ErrTruncated) ||
		!strings.HasPrefix(err.Error(), "cannot decompress crc.gz: ") {
		t.Fatalf("bad checksum: err = %v", err)
	}
	// A failing source is named once.
	_, err = Decode(context.Background(), io.MultiReader(strings.NewReader(good+"\n"), iotestErrReader{}), DecodeOptions{Object: "s3://b/k"},
		func(*Batch) error { return nil }, nil)
	if err == nil || err.Error() != "cannot read s3://b/k: connection reset" {
		t.Fatalf("source error: %v", err)
	}
}

func TestCallbacksStop(t *testing.T) {
	stop := errors.New("stop")
	in := strings.Repeat(good+"\n", 50)
	n := 0
	_, err := Decode(context.Background(), strings.NewReader(in), DecodeOptions{BatchSize: 10}, func(b *Batch) error {
		n++
		return stop
	}, nil)
	if err != stop || n != 1 {
		t.Fatalf("emit error: err %v after %d batches", err, n)
	}
	_, err = Decode(context.Background(), strings.NewReader("bad\n"+in), DecodeOptions{}, func(*Batch) error { return nil },
		func(Reject) error { return stop })
	if err != stop {
		t.Fatalf("reject error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err = Decode(ctx, strings.NewReader(in), DecodeOptions{}, func(*Batch) error { return nil }, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestEnvelopeEdgeCases(t *testing.T) {
	f := func(name, in string, format Format, wantRecs, wantRejects int) {
		t.Helper()
		recs, rejects, _, err := decodeAll(t, []byte(in), DecodeOptions{Object: name, Format: format})
		if err != nil || len(recs) != wantRecs || len(rejects) != wantRejects {
			t.Fatalf("%s: %d records, rejects %v, err %v; want %d, %d", name, len(recs), rejects, err, wantRecs, wantRejects)
		}
	}
	ev := `{"timestamp":1418530010000,"message":"` + good + `","logStreamName":"eni-1-all"}`
	f("export", ev+"\n"+ev+"\n", FormatAuto, 2, 0)
	f("get-log-events", `{"events":[`+ev+`,`+ev+`],"nextForwardToken":"f/1"}`, FormatAuto, 2, 0)
	f("array", `[`+ev+`,`+ev+`]`, FormatCloudWatch, 2, 0)
	f("pretty", "{\n  \"message\": \""+good+"\"\n}\n", FormatFirehose, 1, 0)
	f("control", `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`, FormatCloudWatch, 0, 0)
	f("broken-json", `{"message":"`+good+"\n"+ev+"\n", FormatCloudWatch, 1, 1)
	f("no-message", `{"msg":"x"}`+"\n"+ev, FormatCloudWatch, 1, 1)
	f("firehose-plain-line", good+"\n"+`{"message":"`+good+`"}`, FormatFirehose, 1, 1)
	f("console", "2018-09-22T20:28:14.000Z "+good+"\n2018-09-22T20:28:14+02:00 "+good+"\n", FormatAuto, 2, 0)
	f("csv", "timestamp,message\n1418530010000,"+good+"\n1418530010000,\""+good+"\"\n", FormatCloudWatch, 2, 0)
	f("bad-record-in-event", `{"message":"`+good+` extra"}`, FormatFirehose, 0, 1)
}

func TestIP(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "10.0.0.1", "255.255.255.255", "172.31.16.139", "1.2.3", "1.2.3.4.5", "256.1.1.1",
		"01.2.3.4", "1..2.3", "", "a.b.c.d", "1.2.3.4 ", "::", "::1", "2001:db8::1", "2a02:cf40::", "fe80::1:2:3:4:5:6",
		"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::", "::ffff:10.0.0.1", "::10.0.0.1", "1::2::3", ":1", "1:",
		"12345::", "g::", "fe80::1%eth0", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "-"} {
		want, err := netip.ParseAddr(s)
		if err == nil && want.Zone() != "" {
			err = errors.New("zone")
		}
		got16, ok := ParseIP16([]byte(s))
		if ok != (err == nil) || (ok && got16 != want.As16()) {
			t.Errorf("ParseIP16(%q) = %x, %v; netip: %v %v", s, got16, ok, want, err)
		}
		v4, ok4 := ParseIPv4([]byte(s))
		want4 := err == nil && want.Is4()
		if ok4 != want4 || (ok4 && v4 != uint32(want.As4()[0])<<24|uint32(want.As4()[1])<<16|uint32(want.As4()[2])<<8|uint32(want.As4()[3])) {
			t.Errorf("ParseIPv4(%q) = %x, %v; netip: %v %v", s, v4, ok4, want, err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { ParseIP16([]byte("2001:db8::1")); ParseIPv4([]byte("10.1.2.3")) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// TestNoAllocPerRecord checks that decoding allocates per object, never per
// record: twice the records, the same allocations.
func TestNoAllocPerRecord(t *testing.T) {
	small := syntheticText(DefaultLayout, 256<<10)
	large := syntheticText(DefaultLayout, 1<<20)
	emit := func(*Batch) error { return nil }
	reject := func(Reject) error { return nil }
	var d decoder // one decoder, as Decode's pool hands out in steady state
	run := func(data []byte) float64 {
		rd := bytes.NewReader(data)
		return testing.AllocsPerRun(5, func() {
			rd.Reset(data)
			if _, err := d.decode(context.Background(), rd, DecodeOptions{BatchSize: 1024, MaxLineBytes: 1 << 16}, emit, reject); err != nil {
				t.Fatal(err)
			}
		})
	}
	run(large) // warm the pool
	a, b := run(small), run(large)
	t.Logf("allocations per object: %v (%d bytes), %v (%d bytes)", a, len(small), b, len(large))
	if b > a || b > 20 {
		t.Fatalf("allocations: %v for %d bytes, %v for %d bytes", a, len(small), b, len(large))
	}
}

// TestDecodeConcurrent decodes objects of several formats at once, as
// ingestion does; run with -race it checks that pooled state is not shared.
func TestDecodeConcurrent(t *testing.T) {
	text := syntheticText(v5Layout, 64<<10)
	want, _, _, err := decodeAll(t, text, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	objects := [][]byte{text, gz(string(text))}
	for _, name := range []string{"firehose", "parquet", "cloudwatch-subscription"} {
		objects = append(objects, encodingByName(name)(t, v5Layout, want))
	}
	errs := make(chan error, 4*len(objects))
	for k := 0; k < 4; k++ {
		for i, obj := range objects {
			go func() {
				recs, rejects, _, err := decodeAll(t, obj, DecodeOptions{Layout: v5Layout})
				switch {
				case err != nil:
				case len(rejects) > 0 || len(recs) != len(want):
					err = fmt.Errorf("object %d: %d records, %d rejects", i, len(recs), len(rejects))
				default:
					for j := range recs {
						if !recs[j].Equal(&want[j]) {
							err = fmt.Errorf("object %d record %d differs", i, j)
							break
						}
					}
				}
				errs <- err
			}()
		}
	}
	for range 4 * len(objects) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestGzipWholeAndStreamingAgree decodes gzip objects, good and damaged,
// inflated whole (libdeflate) and streamed (klauspost): records, rejects,
// counters and errors must be the same.
func TestGzipWholeAndStreamingAgree(t *testing.T) {
	inflatetest.Require(t)
	body := DefaultLayout.Header() + "\n" + strings.Repeat(good+"\n", 3000)
	full := gz(body)
	crc := append([]byte(nil), full...)
	crc[len(crc)-5] ^= 0xff
	objects := map[string][]byte{
		"one member":       full,
		"two members":      gz(body, strings.Repeat(good+"\r\n", 7)),
		"empty member":     gz("", body, ""),
		"bad lines":        gz(body + "2 123 eni-x 10.0.0.1\n" + strings.Repeat("x", 5000) + "\n\n" + good),
		"cloudwatch":       gz(`{"timestamp":1620000000000,"message":"` + good + `"}` + "\n"),
		"truncated":        full[:len(full)/2],
		"header cut":       full[:5],
		"bad checksum":     crc,
		"trailing garbage": append(append([]byte(nil), full...), "garbage"...),
	}
	type result struct {
		recs    []Record
		rejects []Reject
		st      Stats
		err     string
	}
	run := func(data []byte) result {
		recs, rejects, st, err := decodeAll(t, data, DecodeOptions{Object: "o.gz", MaxLineBytes: 200})
		r := result{recs: recs, rejects: rejects, st: st}
		if err != nil {
			r.err = err.Error()
		}
		return r
	}
	defer func(c, x int) { inflateObjects, maxWholeCompressed, maxWholeText = true, c, x }(maxWholeCompressed, maxWholeText)
	limits := map[string][2]int{
		"whole":                 {maxWholeCompressed, maxWholeText},
		"too big to hold":       {256, maxWholeText}, // read in part, then streamed
		"too big when inflated": {maxWholeCompressed, 1 << 10},
	}
	for name, data := range objects {
		for lname, l := range limits {
			maxWholeCompressed, maxWholeText = l[0], l[1]
			name := name + ", " + lname
			inflateObjects = true
			whole := run(data)
			inflateObjects = false
			stream := run(data)
			if whole.err != stream.err || whole.st != stream.st || !reflect.DeepEqual(whole.rejects, stream.rejects) || len(whole.recs) != len(stream.recs) {
				t.Fatalf("%s: whole %d records %+v %v %q; streaming %d records %+v %v %q", name,
					len(whole.recs), whole.st, whole.rejects, whole.err, len(stream.recs), stream.st, stream.rejects, stream.err)
			}
			for i := range whole.recs {
				if !whole.recs[i].Equal(&stream.recs[i]) {
					t.Fatalf("%s: record %d differs", name, i)
				}
			}
		}
	}
}
