package flowlog

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// colClass says how the values of one layout position are checked.
type colClass uint8

const (
	classString colClass = iota
	classInt
	classAction
	classStatus
	classAddr
)

// column is one position of a compiled layout.
type column struct {
	field    Field
	class    colClass
	min, max int64
}

func compileLayout(cols []column, l Layout) []column {
	cols = append(cols[:0], make([]column, len(l.Fields))...)
	for i, f := range l.Fields {
		c := column{field: f, min: fields[f].Min, max: fields[f].Max}
		switch {
		case fields[f].Kind.IsInt():
			c.class = classInt
		case f == Action:
			c.class = classAction
		case f == LogStatus:
			c.class = classStatus
		case f == SrcAddr || f == DstAddr || f == PktSrcAddr || f == PktDstAddr:
			c.class = classAddr
		}
		cols[i] = c
	}
	return cols
}

// parseUint parses a run of ASCII digits. It rejects signs, spaces, empty
// input and values above 1<<63-1: no flow log field is negative.
func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		// 19 digits hold every int64; longer values only fit with leading zeros,
		// which AWS never writes.
		return 0, false
	}
	var v uint64
	for _, c := range b {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		v = v*10 + uint64(d)
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

func validAction(b []byte) bool {
	return string(b) == "ACCEPT" || string(b) == "REJECT"
}

func validStatus(b []byte) bool {
	return string(b) == "OK" || string(b) == "NODATA" || string(b) == "SKIPDATA"
}

// isASCII reports whether b holds only 7-bit bytes, eight at a time.
func isASCII(b []byte) bool {
	for len(b) >= 8 {
		v := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		if v&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func validUTF8(b []byte) bool { return isASCII(b) || utf8.Valid(b) }

// quote returns b quoted for an error message, cut short.
func quote(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "…"
	}
	return strconv.Quote(string(b))
}

// countValues returns the number of single-space separated values of line.
func countValues(line []byte) int { return bytes.Count(line, []byte{' '}) + 1 }

func reasonCount(line []byte, want int) string {
	return fmt.Sprintf("has %d values, want %d (values are separated by single spaces)", countValues(line), want)
}
