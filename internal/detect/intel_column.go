package detect

import (
	"context"
	"net/netip"
)

// runIntelColumn serves threat_intel when the hunt has no intel lists of
// its own but the ingest enriched the records: the intel_list column names
// the list that held srcaddr (else dstaddr) when the record was stored. The
// listed peers it finds become the hunt's intel set, so the findings are
// the same as with the lists given to the hunt.
func runIntelColumn(ctx context.Context, env *Env) ([]Finding, error) {
	from, to := env.window()
	sql := `SELECT DISTINCT CASE WHEN direction = 'inbound' THEN srcaddr ELSE dstaddr END, intel_list
FROM vpc_flow_logs WHERE ` + inWindow + ` AND intel_list IS NOT NULL AND direction IN ('inbound', 'outbound')`
	set := &IntelSet{}
	err := query(ctx, env.Q, "threat_intel", sql, []any{from, to}, func(r row) error {
		if a, err := netip.ParseAddr(r.Str(0)); err == nil {
			set.Add(netip.PrefixFrom(a, a.BitLen()), r.Str(1))
		}
		return nil
	})
	if err != nil || set.Len() == 0 {
		return nil, err
	}
	e := *env
	e.Intel = set
	return runIntel(ctx, &e)
}
