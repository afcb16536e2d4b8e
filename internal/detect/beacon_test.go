package detect_test

import (
	"math/rand/v2"
	"testing"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/detect/detecttest"
)

// beacon returns n connections from src to dst:443 every period seconds
// with up to jitter seconds of noise, each one short record (SYN+FIN).
func beacon(src, dst string, n int, period, jitter int64, seed uint64) []detecttest.Flow {
	r := rand.New(rand.NewPCG(seed, 1))
	var fs []detecttest.Flow
	t := int64(day0 + 3600)
	for i := 0; i < n; i++ {
		j := int64(0)
		if jitter > 0 {
			j = r.Int64N(2*jitter+1) - jitter
		}
		fs = append(fs, detecttest.Flow{Src: src, Dst: dst, SrcPort: 30000 + i, DstPort: 443, Start: t + j, End: t + j + 2, Packets: 6, Bytes: 900, Flags: 3, Dir: "egress"})
		t += period
	}
	return fs
}

func TestBeaconJitteredIsFound(t *testing.T) {
	// 300 s ± 60 s for a day: a fifth of jitter must not hide it.
	fs := append(background(), beacon("10.0.2.20", "203.0.113.9", 288, 300, 60, 1)...)
	f := wantOne(t, hunt(t, "beaconing", fs, detect.Config{}), detect.Medium, "10.0.2.20")
	if f.Counterparts[0] != "203.0.113.9" {
		t.Fatalf("counterparts %v", f.Counterparts)
	}
}

func TestBeaconLongConnectionIsNotABeacon(t *testing.T) {
	// One TCP session held for 12 hours: a record every 60 s on the same
	// 5-tuple, SYN in the first, FIN in the last. Unstitched, these are
	// 720 perfectly periodic "connections".
	var fs []detecttest.Flow
	start := int64(day0 + 3600)
	for i := int64(0); i < 720; i++ {
		flags := 0
		if i == 0 {
			flags = 2
		}
		if i == 719 {
			flags = 1
		}
		fs = append(fs, detecttest.Flow{Src: "10.0.2.20", Dst: "203.0.113.9", SrcPort: 40001, DstPort: 9001, Start: start + i*60, End: start + i*60 + 59, Packets: 10, Bytes: 1200, Flags: flags, Dir: "egress"})
	}
	fs = append(background(), fs...)
	wantNone(t, hunt(t, "beaconing", fs, detect.Config{}), detect.Info)
	// It is a long connection, though.
	wantOne(t, hunt(t, "long_connection", fs, detect.Config{}), detect.Medium, "10.0.2.20")
}

func TestBeaconRandomTrafficIsNotABeacon(t *testing.T) {
	// A human browsing: connections at random times, random sizes.
	r := rand.New(rand.NewPCG(3, 3))
	var fs []detecttest.Flow
	for i := 0; i < 200; i++ {
		t0 := int64(day0) + r.Int64N(86400)
		fs = append(fs, detecttest.Flow{Src: "10.0.2.20", Dst: "203.0.113.9", SrcPort: 30000 + i, DstPort: 443, Start: t0, End: t0 + 3, Packets: 10, Bytes: 500 + r.Int64N(200000), Flags: 3})
	}
	wantNone(t, hunt(t, "beaconing", append(background(), fs...), detect.Config{}), detect.Medium)
}

func TestStitch(t *testing.T) {
	f := func(name string, in []detect.Slice, want int) {
		t.Helper()
		if got := detect.Stitch(in, 120); len(got) != want {
			t.Errorf("%s: %d connections, want %d: %+v", name, len(got), want, got)
		}
	}
	f("continuation windows", []detect.Slice{
		{Key: "a", Start: 0, End: 59, Flags: 2, Proto: 6}, {Key: "a", Start: 60, End: 119, Flags: 0, Proto: 6}, {Key: "a", Start: 120, End: 130, Flags: 1, Proto: 6},
	}, 1)
	f("new SYN on a reused tuple", []detect.Slice{
		{Key: "a", Start: 0, End: 5, Flags: 3, Proto: 6}, {Key: "a", Start: 60, End: 65, Flags: 3, Proto: 6},
	}, 2)
	f("UDP split by gap", udpSlices(), 3)
	f("different ENIs", []detect.Slice{
		{Key: "a", Start: 0, End: 59, Flags: 2, Proto: 6}, {Key: "b", Start: 60, End: 119, Flags: 0, Proto: 6},
	}, 2)
}

func udpSlices() []detect.Slice {
	return []detect.Slice{
		{Key: "u", Start: 0, End: 1, Flags: -1, Proto: 17}, {Key: "u", Start: 30, End: 31, Flags: -1, Proto: 17},
		{Key: "u", Start: 600, End: 601, Flags: -1, Proto: 17}, {Key: "u", Start: 1200, End: 1201, Flags: -1, Proto: 17},
	}
}
