package flowlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"testing"
)

// The fuzz tests run their seed corpus (the conformance vectors, in every
// delivery format) under `go test`; run them for real with, for example,
//   go test -run XXX -fuzz FuzzDecodeText -fuzztime 20s ./internal/flowlog
// Each checks that decoding never panics and that every record it emits
// survives encode/decode in every format unchanged.

func fuzzSeeds(f *testing.F, encode func(t testing.TB, l Layout, recs []Record) []byte) {
	for _, v := range loadVectors(f) {
		if v.want == nil {
			f.Add(v.Format, []byte(v.Line))
			continue
		}
		recs, _, _, err := decodeAll(f, []byte(v.Line), DecodeOptions{Layout: v.layout})
		if err != nil || len(recs) != 1 {
			f.Fatalf("%s: %v", v.ID, err)
		}
		f.Add(v.Format, encode(f, v.layout, recs))
	}
}

func fuzzDecode(t *testing.T, format, data []byte, f Format) {
	l, err := ParseLayout(string(format))
	if err != nil {
		return
	}
	var recs []Record
	layouts := map[uint64]Layout{}
	_, err = Decode(t.Context(), bytesReader(data), DecodeOptions{Object: "fuzz", Layout: l, Format: f, BatchSize: 7},
		func(b *Batch) error {
			for i := 0; i < b.Len; i++ {
				var r Record
				b.Record(i, &r)
				recs = append(recs, r)
				checkAddr4(t, b, i)
			}
			if _, ok := layouts[b.Fields]; !ok {
				layouts[b.Fields] = l
			}
			return nil
		}, func(Reject) error { return nil })
	_ = err // bad input may fail; it must not panic
	if len(recs) == 0 || len(layouts) != 1 {
		return // round trips below need one known layout
	}
	for mask := range layouts {
		if mask != l.Mask() {
			return // the input carried its own header; its order is not l's
		}
	}
	roundTrip(t, l, recs)
}

// checkAddr4 checks the parsed IPv4 addresses of record i against their
// text: the decoder parses each address once, and stores trust it.
func checkAddr4(t *testing.T, b *Batch, i int) {
	for _, f := range []Field{SrcAddr, DstAddr, PktSrcAddr, PktDstAddr} {
		if !b.Has(f) {
			continue
		}
		ip, is4, ok := b.IPv4(f, i)
		if !ok {
			t.Fatalf("record %d: %s not parsed by the decoder", i, f)
		}
		want, want4 := ParseIPv4(b.Str[f].Get(i))
		if b.Null[f][i] {
			want4 = false
		}
		if is4 != want4 || is4 && ip != want {
			t.Fatalf("record %d: %s %q parsed as %v %08x", i, f, b.Str[f].Get(i), is4, ip)
		}
	}
}

func encodingByName(name string) func(t testing.TB, l Layout, recs []Record) []byte {
	for _, e := range encodings {
		if e.name == name {
			return e.encode
		}
	}
	panic("BUG: no encoding " + name)
}

func FuzzDecodeText(f *testing.F) {
	fuzzSeeds(f, encodingByName("text"))
	fuzzSeeds(f, encodingByName("text-gzip"))
	f.Fuzz(func(t *testing.T, format string, data []byte) { fuzzDecode(t, []byte(format), data, FormatText) })
}

func FuzzDecodeCloudWatch(f *testing.F) {
	fuzzSeeds(f, encodingByName("cloudwatch-export"))
	fuzzSeeds(f, encodingByName("cloudwatch-console"))
	fuzzSeeds(f, encodingByName("cloudwatch-subscription"))
	f.Fuzz(func(t *testing.T, format string, data []byte) { fuzzDecode(t, []byte(format), data, FormatCloudWatch) })
}

func FuzzDecodeFirehose(f *testing.F) {
	fuzzSeeds(f, encodingByName("firehose"))
	fuzzSeeds(f, encodingByName("firehose-concatenated"))
	f.Fuzz(func(t *testing.T, format string, data []byte) { fuzzDecode(t, []byte(format), data, FormatFirehose) })
}

func FuzzDecodeParquet(f *testing.F) {
	fuzzSeeds(f, encodingByName("parquet"))
	f.Fuzz(func(t *testing.T, format string, data []byte) { fuzzDecode(t, []byte(format), data, FormatParquet) })
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// FuzzFlatEvent checks the allocation-free JSON scanner against
// encoding/json: whatever it accepts, encoding/json reads the same way.
func FuzzFlatEvent(f *testing.F) {
	for _, s := range []string{
		`{"message":"` + good + `"}`,
		`{"timestamp":1418530010000,"message":"a\"b\\c\u00e9\ud83d\ude00\n","logStreamName":"eni-1-all"}`,
		`{ "message" : "x" , "n": -1.5e3, "t": true, "f": false, "z": null }`,
		`{"messageType":"CONTROL_MESSAGE","message":"x"}`,
		`{"Message":"x"}`, `{"message":1}`, `{}`, `{"message":"\ud800"}`, `{"a":{"b":1},"message":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, hasMsg, control, n, ok := flatEvent(b, nil)
		if !ok {
			return
		}
		var ev event
		if err := json.Unmarshal(b[:n], &ev); err != nil {
			t.Fatalf("flatEvent accepted %q, encoding/json: %v", b[:n], err)
		}
		if control != (ev.MessageType == "CONTROL_MESSAGE") || hasMsg != (ev.Message != nil) {
			t.Fatalf("%q: control %v hasMsg %v, encoding/json %+v", b[:n], control, hasMsg, ev)
		}
		if hasMsg {
			var s string
			if err := json.Unmarshal(*ev.Message, &s); err != nil {
				if !control {
					t.Fatalf("%q: message %q, encoding/json: %v", b[:n], msg, err)
				}
				return
			}
			if s != string(msg) {
				t.Fatalf("%q: message %q, encoding/json %q", b[:n], msg, s)
			}
		}
	})
}

// FuzzEnvelope checks the subscription envelope scanner against
// encoding/json and the rules of decoder.events.
func FuzzEnvelope(f *testing.F) {
	ev := `{"id":"1","timestamp":1,"message":"` + good + `"}`
	for _, s := range []string{
		`{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":[` + ev + `,` + ev + `]}`,
		`{"messageType":"CONTROL_MESSAGE","logEvents":[` + ev + `]}`,
		`{"events":[` + ev + `,{"id":"2"}],"nextForwardToken":"f/1","x":{"a":[1,{"b":null}]}}`,
		`{"logEvents":[]}`, `{"logEvents":[{"messageType":"CONTROL_MESSAGE","message":"x"}]}`,
		`{"logEvents":[` + ev + `],"events":[` + ev + `]}`, `{"logEvents":null}`, `{"LogEvents":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m envMessages
		n, _, ok := scanEnvelope(b, &m, nil)
		if !ok {
			return
		}
		var top event
		if err := json.Unmarshal(b[:n], &top); err != nil {
			t.Fatalf("scanEnvelope accepted %q, encoding/json: %v", b[:n], err)
		}
		var msgs []string
		var missing []bool
		var walk func(evs []event)
		walk = func(evs []event) {
			for _, ev := range evs {
				if ev.MessageType == "CONTROL_MESSAGE" {
					continue
				}
				if ev.LogEvents != nil || ev.Events != nil {
					walk(append(ev.LogEvents, ev.Events...))
					continue
				}
				var s string
				if ev.Message != nil {
					if err := json.Unmarshal(*ev.Message, &s); err != nil {
						t.Fatalf("%q: message not a string: %v", b[:n], err)
					}
				}
				msgs = append(msgs, s)
				missing = append(missing, ev.Message == nil)
			}
		}
		walk([]event{top})
		if len(msgs) != len(m.end) {
			t.Fatalf("%q: %d events, encoding/json %d", b[:n], len(m.end), len(msgs))
		}
		for k := range msgs {
			if m.missing[k] != missing[k] || string(m.get(k)) != msgs[k] {
				t.Fatalf("%q: event %d: %q (missing %v), encoding/json %q (missing %v)", b[:n], k, m.get(k), m.missing[k], msgs[k], missing[k])
			}
		}
	})
}

// FuzzParseIP checks ParseIPv4 and ParseIP16 against net/netip.
func FuzzParseIP(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "0.0.0.0", "255.255.255.255", "01.2.3.4", "::", "2001:db8::1", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "fe80::1%eth0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := netip.ParseAddr(s)
		if err == nil && want.Zone() != "" {
			err = errors.New("zone")
		}
		got16, ok := ParseIP16([]byte(s))
		if ok != (err == nil) || (ok && got16 != want.As16()) {
			t.Fatalf("ParseIP16(%q) = %x, %v; netip: %v, %v", s, got16, ok, want, err)
		}
		v4, ok4 := ParseIPv4([]byte(s))
		if ok4 != (err == nil && want.Is4()) {
			t.Fatalf("ParseIPv4(%q) = %v; netip: %v, %v", s, ok4, want, err)
		}
		if ok4 {
			a := want.As4()
			if v4 != uint32(a[0])<<24|uint32(a[1])<<16|uint32(a[2])<<8|uint32(a[3]) {
				t.Fatalf("ParseIPv4(%q) = %x", s, v4)
			}
		}
	})
}
