package detect

import "sort"

// Slice is one flow-log record as far as stitching is concerned.
type Slice struct {
	Key        string // ENI + 5-tuple
	Start, End int64
	Bytes      int64
	Flags      int64 // -1 when unknown (v2 logs)
	Proto      int64
}

// Conn is a connection rebuilt from one or more records.
type Conn struct {
	Start, End int64
	Bytes      int64
	Records    int
}

// Stitch rebuilds connections from records: records of one ENI and 5-tuple
// in consecutive aggregation windows are one connection unless a SYN opens
// a new one, a FIN/RST closed the previous one, or the gap exceeds maxGap
// seconds (the only signal without TCP flags). This is what keeps a
// long-lived session from looking like a 60-second beacon.
func Stitch(slices []Slice, maxGap int64) []Conn {
	sort.Slice(slices, func(i, j int) bool {
		if slices[i].Key != slices[j].Key {
			return slices[i].Key < slices[j].Key
		}
		return slices[i].Start < slices[j].Start
	})
	var out []Conn
	var cur *Conn
	var prevKey string
	var prevFlags int64
	for _, s := range slices {
		cont := cur != nil && s.Key == prevKey && s.Start-cur.End <= maxGap
		if cont && s.Proto == 6 && s.Flags >= 0 {
			if s.Flags&2 != 0 && s.Flags&16 == 0 || prevFlags >= 0 && prevFlags&5 != 0 {
				cont = false
			}
		}
		if !cont {
			out = append(out, Conn{Start: s.Start, End: s.End})
			cur = &out[len(out)-1]
		}
		if s.End > cur.End {
			cur.End = s.End
		}
		cur.Bytes += s.Bytes
		cur.Records++
		prevKey, prevFlags = s.Key, s.Flags
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}
