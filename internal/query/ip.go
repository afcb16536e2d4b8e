package query

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// ipColumns maps an address column to its numeric twins in the canonical
// table: UINTEGER for IPv4, 16-byte BLOB for IPv6 (store.ColSrcIP4 …).
var ipColumns = map[string][2]string{
	"srcaddr": {"src_ip4", "src_ip6"},
	"dstaddr": {"dst_ip4", "dst_ip6"},
}

// privatePrefixes are the ranges is_private_ip accepts: RFC 1918, shared
// address space (RFC 6598, carrier-grade NAT and some AWS services),
// loopback, link-local, IPv6 unique local, link-local and loopback.
// Documentation ranges (192.0.2.0/24, 203.0.113.0/24 …) are deliberately
// public: simulators and examples use them for internet peers.
var privatePrefixes = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("::1/128"),
}

// ParseCIDR reads a CIDR as Insights and Athena accept it: "10.0.0.0/8",
// a bare address (a /32 or /128), host bits set or not ("10.1.2.3/8" means
// 10.0.0.0/8).
func ParseCIDR(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("cannot parse CIDR %q: %w", cut(s, 64), err)
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("cannot parse CIDR %q: %w", cut(s, 64), err)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Range4 returns the first and last IPv4 address of p as integers, the
// values src_ip4 and dst_ip4 hold.
func Range4(p netip.Prefix) (lo, hi uint32) {
	a := p.Masked().Addr().As4()
	lo = binary.BigEndian.Uint32(a[:])
	hi = lo | uint32(uint64(1)<<(32-p.Bits())-1)
	return lo, hi
}

// Range6 returns the first and last IPv6 address of p, big endian, the
// values src_ip6 and dst_ip6 hold.
func Range6(p netip.Prefix) (lo, hi [16]byte) {
	lo = p.Masked().Addr().As16()
	hi = lo
	for b := p.Bits(); b < 128; b++ {
		hi[b/8] |= 0x80 >> (b % 8)
	}
	return lo, hi
}

// blobLiteral writes b as a DuckDB BLOB literal.
func blobLiteral(b [16]byte) string {
	var sb strings.Builder
	sb.WriteString("'")
	for _, c := range b {
		fmt.Fprintf(&sb, "\\x%02X", c)
	}
	sb.WriteString("'::BLOB")
	return sb.String()
}

// prefixPredicate is the SQL test "address column col lies in p", over the
// numeric twin columns: an integer range for IPv4, a byte range for IPv6.
// qual is the table qualifier ("t.") or "". It is FALSE, never NULL, for a
// record of the other family or without an address, as the macros are, so
// that NOT isIpInSubnet(…) keeps those records.
func prefixPredicate(qual, col string, p netip.Prefix) string {
	twins := ipColumns[col]
	if p.Addr().Is4() {
		lo, hi := Range4(p)
		return fmt.Sprintf("coalesce(%s%s BETWEEN %d AND %d, FALSE)", qual, twins[0], lo, hi)
	}
	lo, hi := Range6(p)
	return fmt.Sprintf("coalesce(%s%s BETWEEN %s AND %s, FALSE)", qual, twins[1], blobLiteral(lo), blobLiteral(hi))
}

// ipFunctionPredicate translates an IP function applied to an address
// column and a literal CIDR into a range test; ok is false when it does not
// apply (the macro then does the work at query time).
func ipFunctionPredicate(fn, qual, col, cidr string) (string, bool, error) {
	if _, isIP := ipColumns[col]; !isIP {
		return "", false, nil
	}
	p, err := ParseCIDR(cidr)
	if err != nil {
		return "", false, err
	}
	switch strings.ToLower(fn) {
	case "isipv4insubnet":
		if !p.Addr().Is4() {
			return "FALSE", true, nil
		}
	case "isipv6insubnet":
		if p.Addr().Is4() {
			return "FALSE", true, nil
		}
	}
	return prefixPredicate(qual, col, p), true, nil
}

// likePrefix reads a LIKE pattern made of whole IPv4 octets followed by
// '.%' ("203.%", "10.0.%", "10.0.1.%") as the prefix of the addresses it
// matches: an address column's text starts with "203." exactly when it is
// an IPv4 address in 203.0.0.0/8 (an IPv6 address never has a dot in its
// first group).
func likePrefix(pattern string) (netip.Prefix, bool) {
	head, ok := strings.CutSuffix(pattern, ".%")
	if !ok {
		return netip.Prefix{}, false
	}
	parts := strings.Split(head, ".")
	if len(parts) > 3 {
		return netip.Prefix{}, false
	}
	var a [4]byte
	for i, p := range parts {
		if p == "" || len(p) > 3 || len(p) > 1 && p[0] == '0' {
			return netip.Prefix{}, false
		}
		v := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return netip.Prefix{}, false
			}
			v = v*10 + int(c-'0')
		}
		if v > 255 {
			return netip.Prefix{}, false
		}
		a[i] = byte(v)
	}
	return netip.PrefixFrom(netip.AddrFrom4(a), 8*len(parts)), true
}

// privatePredicate is is_private_ip over an address column.
func privatePredicate(qual, col string) string {
	parts := make([]string, len(privatePrefixes))
	for i, p := range privatePrefixes {
		parts[i] = prefixPredicate(qual, col, p)
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// DuckDBSetup returns the statements that define flowhunt's SQL functions
// as DuckDB macros: the Insights IP functions, is_private_ip and their
// helpers. Run them once on the reader's database before the configuration
// is locked (ReaderOptions.Setup); they are not TEMP so that every pooled
// connection sees them. Where the CIDR is a literal and the address a
// stored column, Translate does not need them: it emits integer range tests.
func DuckDBSetup() []string {
	var s []string
	m := func(sig, body string) {
		s = append(s, "CREATE OR REPLACE MACRO "+sig+" AS "+body)
	}
	// IPv4 text -> UBIGINT, NULL when not a dotted quad.
	m("fh_ip4(s)", `CASE WHEN regexp_full_match(CAST(s AS VARCHAR), '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}') THEN `+
		`TRY_CAST(split_part(s, '.', 1) AS UBIGINT) * 16777216 + TRY_CAST(split_part(s, '.', 2) AS UBIGINT) * 65536 + TRY_CAST(split_part(s, '.', 3) AS UBIGINT) * 256 + TRY_CAST(split_part(s, '.', 4) AS UBIGINT) END`)
	// IPv6 text -> list of its eight groups (as text), NULL when malformed.
	m("fh_ip6groups(s)", `CASE WHEN regexp_full_match(CAST(s AS VARCHAR), '[0-9A-Fa-f:]+') AND length(CAST(s AS VARCHAR)) - length(replace(CAST(s AS VARCHAR), ':', '')) BETWEEN 2 AND 7 `+
		`AND length(CAST(s AS VARCHAR)) - length(replace(CAST(s AS VARCHAR), '::', '')) <= 2 THEN `+
		`CASE WHEN contains(CAST(s AS VARCHAR), '::') THEN `+
		`(CASE WHEN split_part(s, '::', 1) = '' THEN []::VARCHAR[] ELSE string_split(split_part(s, '::', 1), ':') END) || `+
		`list_transform(range(8 - (CASE WHEN split_part(s, '::', 1) = '' THEN 0 ELSE len(string_split(split_part(s, '::', 1), ':')) END) - (CASE WHEN split_part(s, '::', 2) = '' THEN 0 ELSE len(string_split(split_part(s, '::', 2), ':')) END)), lambda x: '0') || `+
		`(CASE WHEN split_part(s, '::', 2) = '' THEN []::VARCHAR[] ELSE string_split(split_part(s, '::', 2), ':') END) `+
		`ELSE string_split(s, ':') END END`)
	// IPv6 text -> 32 hex digits, NULL when malformed.
	m("fh_ip6hex(s)", `CASE WHEN len(fh_ip6groups(s)) = 8 AND list_bool_and(list_transform(fh_ip6groups(s), lambda g: length(g) BETWEEN 1 AND 4)) `+
		`THEN lower(array_to_string(list_transform(fh_ip6groups(s), lambda g: lpad(g, 4, '0')), '')) END`)
	m("fh_ip6in(s, net, bits)", `CASE WHEN fh_ip6hex(s) IS NULL OR fh_ip6hex(net) IS NULL OR bits IS NULL OR bits < 0 OR bits > 128 THEN NULL `+
		`WHEN bits = 0 THEN TRUE `+
		`WHEN bits <= 64 THEN (CAST('0x' || substr(fh_ip6hex(s), 1, 16) AS UBIGINT) >> (64 - bits)) = (CAST('0x' || substr(fh_ip6hex(net), 1, 16) AS UBIGINT) >> (64 - bits)) `+
		`ELSE substr(fh_ip6hex(s), 1, 16) = substr(fh_ip6hex(net), 1, 16) AND (CAST('0x' || substr(fh_ip6hex(s), 17, 16) AS UBIGINT) >> (128 - bits)) = (CAST('0x' || substr(fh_ip6hex(net), 17, 16) AS UBIGINT) >> (128 - bits)) END`)
	m("fh_ip4in(s, net, bits)", `CASE WHEN fh_ip4(s) IS NULL OR fh_ip4(net) IS NULL OR bits IS NULL OR bits < 0 OR bits > 32 THEN NULL `+
		`ELSE (fh_ip4(s) >> (32 - bits)) = (fh_ip4(net) >> (32 - bits)) END`)
	m("fh_cidrbits(c, dflt)", `CASE WHEN contains(CAST(c AS VARCHAR), '/') THEN TRY_CAST(split_part(c, '/', 2) AS INTEGER) ELSE dflt END`)
	m("isValidIpV4(s)", `coalesce(fh_ip4(s) IS NOT NULL, FALSE)`)
	m("isValidIpV6(s)", `coalesce(fh_ip6hex(s) IS NOT NULL, FALSE)`)
	m("isValidIp(s)", `isValidIpV4(s) OR isValidIpV6(s)`)
	m("isIpv4InSubnet(s, c)", `coalesce(fh_ip4in(s, split_part(c, '/', 1), fh_cidrbits(c, 32)), FALSE)`)
	m("isIpv6InSubnet(s, c)", `coalesce(fh_ip6in(s, split_part(c, '/', 1), fh_cidrbits(c, 128)), FALSE)`)
	m("isIpInSubnet(s, c)", `isIpv4InSubnet(s, c) OR isIpv6InSubnet(s, c)`)
	var priv []string
	for _, p := range privatePrefixes {
		fn := "isIpv4InSubnet"
		if !p.Addr().Is4() {
			fn = "isIpv6InSubnet"
		}
		priv = append(priv, fmt.Sprintf("%s(s, '%s')", fn, p))
	}
	m("is_private_ip(s)", strings.Join(priv, " OR "))
	m("isPrivateIp(s)", "is_private_ip(s)")
	return s
}

// cut shortens s for error messages.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
