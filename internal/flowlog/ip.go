package flowlog

// ParseIPv4 parses a dotted-quad IPv4 address ("10.0.0.1") into its 32-bit
// value without allocating. Leading zeros ("010.0.0.1") are refused, as
// net/netip refuses them.
func ParseIPv4(b []byte) (uint32, bool) {
	ip, n := scanIPv4(b)
	return ip, n > 0 && n == len(b)
}

// scanIPv4 parses the dotted-quad IPv4 address at the start of b and
// returns it with the number of bytes it spans, or n == 0 when b does not
// start with one. What follows is the caller's to check.
func scanIPv4(b []byte) (ip uint32, n int) {
	i := 0
	for part := 0; part < 4; part++ {
		if part > 0 {
			if i >= len(b) || b[i] != '.' {
				return 0, 0
			}
			i++
		}
		if i >= len(b) {
			return 0, 0
		}
		v := uint32(b[i] - '0')
		if v > 9 {
			return 0, 0
		}
		i++
		if v != 0 { // a leading 0 stands alone
			for k := 0; k < 2 && i < len(b); k++ {
				d := uint32(b[i] - '0')
				if d > 9 {
					break
				}
				v = v*10 + d
				i++
			}
			if v > 255 {
				return 0, 0
			}
		}
		ip = ip<<8 | v
	}
	return ip, i
}

// ParseIP16 parses an IPv4 or IPv6 address into 16 bytes without allocating.
// An IPv4 address gives its IPv4-mapped form (::ffff:a.b.c.d), so both
// families sort and compare in one column. Zones ("%eth0") are refused.
func ParseIP16(b []byte) ([16]byte, bool) {
	var out [16]byte
	if v4, ok := ParseIPv4(b); ok {
		out[10], out[11] = 0xff, 0xff
		out[12], out[13], out[14], out[15] = byte(v4>>24), byte(v4>>16), byte(v4>>8), byte(v4)
		return out, true
	}
	if len(b) < 2 {
		return out, false
	}
	ellipsis := -1 // index in out where "::" stands
	i, j := 0, 0   // i in b, j in out
	if b[0] == ':' {
		if b[1] != ':' {
			return out, false
		}
		ellipsis = 0
		i = 2
		if i == len(b) {
			return out, true // "::"
		}
	}
	for i < len(b) {
		if j == 16 {
			return out, false
		}
		// One group: up to four hex digits.
		start := i
		var v uint32
		for i < len(b) && i-start < 5 {
			c := b[i]
			var d byte
			switch {
			case c >= '0' && c <= '9':
				d = c - '0'
			case c >= 'a' && c <= 'f':
				d = c - 'a' + 10
			case c >= 'A' && c <= 'F':
				d = c - 'A' + 10
			default:
				d = 0xff
			}
			if d == 0xff {
				break
			}
			v = v<<4 | uint32(d)
			i++
		}
		n := i - start
		if n == 0 || n > 4 {
			return out, false
		}
		if i < len(b) && b[i] == '.' {
			// Embedded IPv4 in the last 32 bits.
			if j > 12 {
				return out, false
			}
			v4, ok := ParseIPv4(b[start:])
			if !ok {
				return out, false
			}
			out[j], out[j+1], out[j+2], out[j+3] = byte(v4>>24), byte(v4>>16), byte(v4>>8), byte(v4)
			j += 4
			i = len(b)
			break
		}
		out[j], out[j+1] = byte(v>>8), byte(v)
		j += 2
		if i == len(b) {
			break
		}
		if b[i] != ':' {
			return out, false
		}
		i++
		if i < len(b) && b[i] == ':' {
			if ellipsis >= 0 {
				return out, false
			}
			ellipsis = j
			i++
			if i == len(b) {
				break
			}
		} else if i == len(b) {
			return out, false // trailing single ':'
		}
	}
	if ellipsis >= 0 {
		if j == 16 {
			return out, false // "::" must stand for at least one group
		}
		n := j - ellipsis
		copy(out[16-n:], out[ellipsis:j])
		for k := ellipsis; k < 16-n; k++ {
			out[k] = 0
		}
	} else if j != 16 {
		return out, false
	}
	return out, true
}
