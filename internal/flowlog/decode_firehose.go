package flowlog

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// flatEvent scans one flat JSON object at the start of b, the shape of a
// Firehose record {"message":"…"} and of an exported CloudWatch event
// {"timestamp":…,"message":"…","logStreamName":"…"}, without allocating:
// the unescaped message is appended to msg[:0]. It returns ok=false for
// anything else (nested values, invalid JSON, keys that differ from ours
// only by case, invalid UTF-8), which the caller then hands to encoding/json,
// so both paths accept exactly the same input.
func flatEvent(b []byte, msg []byte) (out []byte, hasMsg, control bool, n int, ok bool) {
	out = msg[:0]
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return out, false, false, 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return out, false, false, i + 1, true
	}
	var key []byte
	for {
		if i >= len(b) || b[i] != '"' {
			return out, false, false, 0, false
		}
		// Keys of interest are plain ASCII: read the raw key.
		end, good := skipScalar(b, i)
		if !good {
			return out, false, false, 0, false
		}
		key = b[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return out, false, false, 0, false
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return out, false, false, 0, false
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return out, false, false, 0, false
		}
		switch {
		case string(key) == "message":
			if b[i] != '"' {
				return out, false, false, 0, false
			}
			var good bool
			out, i, good = unquote(b, i, out[:0])
			if !good {
				return out, false, false, 0, false
			}
			hasMsg = true
		case string(key) == "messageType":
			if b[i] != '"' {
				return out, false, false, 0, false
			}
			var good bool
			var mt [32]byte
			var v []byte
			v, i, good = unquote(b, i, mt[:0])
			if !good {
				return out, false, false, 0, false
			}
			control = string(v) == "CONTROL_MESSAGE"
		case bytes.EqualFold(key, []byte("message")) || bytes.EqualFold(key, []byte("messageType")) ||
			bytes.EqualFold(key, []byte("logEvents")) || bytes.EqualFold(key, []byte("events")):
			return out, false, false, 0, false // encoding/json's rules decide
		default:
			var good bool
			if i, good = skipScalar(b, i); !good {
				return out, false, false, 0, false
			}
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return out, false, false, 0, false
		}
		if b[i] == '}' {
			return out, hasMsg, control, i + 1, true
		}
		if b[i] != ',' {
			return out, false, false, 0, false
		}
		i = skipSpace(b, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipScalar skips a JSON string, number, true, false or null at b[i].
func skipScalar(b []byte, i int) (int, bool) {
	switch c := b[i]; {
	case c == '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				if j+1 >= len(b) {
					return 0, false
				}
				switch b[j+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					j++
				case 'u':
					if _, ok := hex4(b, j+2); !ok {
						return 0, false
					}
					j += 5
				default:
					return 0, false
				}
			case '"':
				return j + 1, true
			default:
				if b[j] < 0x20 {
					return 0, false
				}
			}
		}
		return 0, false
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(b, i)
	case bytes.HasPrefix(b[i:], []byte("true")):
		return i + 4, true
	case bytes.HasPrefix(b[i:], []byte("false")):
		return i + 5, true
	case bytes.HasPrefix(b[i:], []byte("null")):
		return i + 4, true
	}
	return 0, false
}

// unquote appends the JSON string at b[i] (which is '"') to dst, unescaped.
func unquote(b []byte, i int, dst []byte) ([]byte, int, bool) {
	i++
	ascii := true
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return dst, i + 1, ascii || utf8.Valid(dst)
		case c < 0x20:
			return dst, 0, false
		case c != '\\':
			// Copy the run up to the next quote or backslash at once.
			j := i + 1
			for j < len(b) && b[j] != '"' && b[j] != '\\' && b[j] >= 0x20 {
				j++
			}
			if ascii && !isASCII(b[i:j]) {
				ascii = false
			}
			dst = append(dst, b[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(b) {
			return dst, 0, false
		}
		switch e := b[i+1]; e {
		case '"', '\\', '/':
			dst = append(dst, e)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(b, i+2)
			if !ok {
				return dst, 0, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(-1), false
				if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
					r2, ok2 = hex4(b, i+2)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			return dst, 0, false
		}
		i += 2
	}
	return dst, 0, false
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// skipNumber skips a number of JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func skipNumber(b []byte, i int) (int, bool) {
	digits := func(j int) int {
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i + 1)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

// envMessages holds what scanEnvelope found, in order: the unescaped
// messages packed in buf, and the events without a message.
type envMessages struct {
	buf     []byte
	end     []int    // end of message k in buf
	missing []bool   // event k has no "message"
	raw     [][2]int // span of event k in the input
}

func (m *envMessages) reset() {
	m.buf, m.end, m.missing, m.raw = m.buf[:0], m.end[:0], m.missing[:0], m.raw[:0]
}

func (m *envMessages) get(k int) []byte {
	start := 0
	if k > 0 {
		start = m.end[k-1]
	}
	return m.buf[start:m.end[k]]
}

// scanEnvelope scans a CloudWatch Logs subscription envelope
// {"messageType":"DATA_MESSAGE",…,"logEvents":[{"id":…,"timestamp":…,"message":…},…]}
// (or {"events":[…]} as `aws logs get-log-events` prints) without allocating
// per event. Like flatEvent it returns ok=false for any shape it does not
// fully understand, and the caller then uses encoding/json. A CONTROL_MESSAGE
// envelope gives no events.
func scanEnvelope(b []byte, m *envMessages, scratch []byte) (n int, _ []byte, ok bool) {
	m.reset()
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return 0, scratch, false
	}
	i = skipSpace(b, i+1)
	control, sawEvents := false, false
	for i < len(b) && b[i] != '}' {
		end, good := skipScalar(b, i)
		if !good || b[i] != '"' {
			return 0, scratch, false
		}
		key := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' || bytes.IndexByte(key, '\\') >= 0 {
			return 0, scratch, false
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return 0, scratch, false
		}
		switch {
		case string(key) == "messageType":
			if b[i] != '"' || control {
				return 0, scratch, false
			}
			var v []byte
			if v, i, good = unquote(b, i, scratch[:0]); !good {
				return 0, scratch, false
			}
			scratch = v
			control = string(v) == "CONTROL_MESSAGE"
		case string(key) == "logEvents" || string(key) == "events":
			if sawEvents || b[i] != '[' {
				return 0, scratch, false
			}
			sawEvents = true
			i = skipSpace(b, i+1)
			for i < len(b) && b[i] != ']' {
				msg, hasMsg, ctl, n, good := flatEvent(b[i:], scratch)
				scratch = msg
				if !good || b[i] != '{' {
					return 0, scratch, false
				}
				if !ctl {
					if hasMsg {
						m.buf = append(m.buf, msg...)
					}
					m.end = append(m.end, len(m.buf))
					m.missing = append(m.missing, !hasMsg)
					m.raw = append(m.raw, [2]int{i, i + n})
				}
				i = skipSpace(b, i+n)
				if i < len(b) && b[i] == ',' {
					i = skipSpace(b, i+1)
					if i < len(b) && b[i] == ']' {
						return 0, scratch, false // trailing comma
					}
				} else if i >= len(b) || b[i] != ']' {
					return 0, scratch, false
				}
			}
			if i >= len(b) {
				return 0, scratch, false
			}
			i++
		case bytes.EqualFold(key, []byte("message")) || bytes.EqualFold(key, []byte("messageType")) ||
			bytes.EqualFold(key, []byte("logEvents")) || bytes.EqualFold(key, []byte("events")):
			return 0, scratch, false
		default:
			if i, good = skipValue(b, i, 0); !good {
				return 0, scratch, false
			}
		}
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			if i >= len(b) || b[i] != '"' {
				return 0, scratch, false
			}
		} else if i >= len(b) || b[i] != '}' {
			return 0, scratch, false
		}
	}
	if i >= len(b) || !sawEvents {
		return 0, scratch, false
	}
	if control {
		m.reset()
	}
	return i + 1, scratch, true
}

// skipValue skips any JSON value at b[i], nested ones included.
func skipValue(b []byte, i, depth int) (int, bool) {
	if depth > 64 {
		return 0, false
	}
	switch b[i] {
	case '{', '[':
		closer := byte('}')
		if b[i] == '[' {
			closer = ']'
		}
		obj := b[i] == '{'
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for i < len(b) {
			var good bool
			if obj {
				if b[i] != '"' {
					return 0, false
				}
				if i, good = skipScalar(b, i); !good {
					return 0, false
				}
				i = skipSpace(b, i)
				if i >= len(b) || b[i] != ':' {
					return 0, false
				}
				i = skipSpace(b, i+1)
				if i >= len(b) {
					return 0, false
				}
			}
			if i, good = skipValue(b, i, depth+1); !good {
				return 0, false
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return 0, false
			}
			if b[i] == closer {
				return i + 1, true
			}
			if b[i] != ',' {
				return 0, false
			}
			i = skipSpace(b, i+1)
			if i >= len(b) {
				return 0, false
			}
		}
		return 0, false
	}
	return skipScalar(b, i)
}
