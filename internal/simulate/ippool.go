package simulate

import (
	"math/rand/v2"
	"net/netip"
)

// ipPool hands out distinct public addresses from the plan's random source,
// so that an attack's "new destination" really is new.
type ipPool struct {
	r    *rand.Rand
	used map[netip.Addr]bool
}

func newIPPool(r *rand.Rand) *ipPool { return &ipPool{r: r, used: map[netip.Addr]bool{}} }

// awsBlocks are public EC2 ranges of us-east-1, for the account's own
// public IPs and for AWS-hosted peers.
var awsBlocks = []netip.Prefix{
	netip.MustParsePrefix("3.80.0.0/12"),
	netip.MustParsePrefix("34.192.0.0/12"),
	netip.MustParsePrefix("44.192.0.0/11"),
	netip.MustParsePrefix("54.144.0.0/12"),
}

// s3Block is the S3 range of us-east-1 the gateway endpoint serves.
var s3Block = netip.MustParsePrefix("52.216.0.0/15")

func (p *ipPool) inBlock(b netip.Prefix) netip.Addr {
	for {
		base := u32(b.Addr())
		size := uint32(1) << (32 - b.Bits())
		a := addr4(base + p.r.Uint32N(size))
		if last := a.As4()[3]; last == 0 || last == 255 || p.used[a] {
			continue
		}
		p.used[a] = true
		return a
	}
}

func (p *ipPool) awsPublic() netip.Addr { return p.inBlock(awsBlocks[p.r.IntN(len(awsBlocks))]) }

func (p *ipPool) s3() netip.Addr { return p.inBlock(s3Block) }

// external returns a routable public address outside AWS and every
// reserved or private range.
func (p *ipPool) external() netip.Addr {
	for {
		a := addr4(p.r.Uint32())
		if !publicRoutable(a) || p.used[a] {
			continue
		}
		p.used[a] = true
		return a
	}
}

func (p *ipPool) externals(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = p.external()
	}
	return out
}

var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("224.0.0.0/3"),
	// AWS ranges used for the account's own addresses and S3.
	netip.MustParsePrefix("3.0.0.0/8"), netip.MustParsePrefix("34.192.0.0/10"),
	netip.MustParsePrefix("44.192.0.0/11"), netip.MustParsePrefix("52.0.0.0/8"),
	netip.MustParsePrefix("54.0.0.0/8"),
}

func publicRoutable(a netip.Addr) bool {
	if a.Is6() {
		return a.IsGlobalUnicast() && !a.IsPrivate() && !aws6.Contains(a)
	}
	if b := a.As4(); b[3] == 0 || b[3] == 255 {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
