package detect

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"

	"github.com/gaissmai/bart"
)

// IntelSet is a set of threat-intel IPs and CIDRs with the list each came
// from, looked up in a prefix trie so each address costs a few nanoseconds
// whatever the list size.
type IntelSet struct {
	t bart.Table[string]
	n int
}

// Len returns the number of entries.
func (s *IntelSet) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// Lookup returns the list name of the longest entry containing ip.
func (s *IntelSet) Lookup(ip netip.Addr) (string, bool) {
	if s == nil || s.n == 0 {
		return "", false
	}
	return s.t.Lookup(ip.Unmap())
}

// Add inserts one prefix from list.
func (s *IntelSet) Add(p netip.Prefix, list string) {
	s.t.Insert(p.Masked(), list)
	s.n++
}

// ReadIntel adds the entries of one list: one IP or CIDR per line, '#'
// starts a comment, blank lines are ignored. A bad line is an error naming
// the list and line.
func (s *IntelSet) ReadIntel(r io.Reader, list string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if i := bytes.IndexByte(b, '#'); i >= 0 {
			b = b[:i]
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		// Some feeds append fields after the address ("1.2.3.4 ; note").
		if i := bytes.IndexAny(b, " \t,;"); i >= 0 {
			b = b[:i]
		}
		p, err := parsePrefix(string(b))
		if err != nil {
			return fmt.Errorf("cannot read intel list %s line %d: %w", list, line, err)
		}
		s.Add(p, list)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cannot read intel list %s line %d: %w", list, line+1, err)
	}
	return nil
}
