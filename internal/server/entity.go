package server

import (
	"fmt"
	"github.com/flowhunt/flowhunt/internal/store"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// handleEntity answers the entity page: the volume of an IP, ENI or
// instance over time, its peers (as edges for a graph), its ports, its
// latest flows, its findings and its inventory context.
func (s *Server) handleEntity(w http.ResponseWriter, r *http.Request) {
	kind, value := r.PathValue("kind"), r.PathValue("value")
	var match string
	var margs []any
	switch kind {
	case "ip":
		a, err := netip.ParseAddr(value)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("cannot look up ip %q: not an address", cut(value, 60)))
			return
		}
		value = a.String()
		match, margs = `(srcaddr = ? OR dstaddr = ?)`, []any{value, value}
	case "eni":
		if !strings.HasPrefix(value, "eni-") {
			writeError(w, http.StatusBadRequest, fmt.Errorf("cannot look up eni %q: want eni-…", cut(value, 60)))
			return
		}
		match, margs = `interface_id = ?`, []any{value}
	case "instance":
		if !strings.HasPrefix(value, "i-") {
			writeError(w, http.StatusBadRequest, fmt.Errorf("cannot look up instance %q: want i-…", cut(value, 60)))
			return
		}
		match, margs = `instance_id = ?`, []any{value}
	default:
		writeError(w, http.StatusBadRequest, fmt.Errorf("cannot look up entity kind %q: want ip, eni or instance", cut(kind, 20)))
		return
	}
	from, to, err := s.timeRange(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ctx := r.Context()
	rd, err := s.reader(ctx, from, to)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	defer rd.Close()
	cond, rargs := rangeWhere(from, to)
	where := match + ` AND ` + cond
	args := append(append([]any{}, margs...), rargs...)
	out := map[string]any{"kind": kind, "value": value}

	totals, err := queryRows(ctx, rd, 1, `SELECT count(*) AS flows, coalesce(sum(bytes), 0) AS bytes,
		coalesce(sum(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END), 0) AS rejected, min("start") AS first, max("end") AS last
		FROM vpc_flow_logs WHERE `+where, args...)
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("cannot summarise %s %s: %w", kind, value, err))
		return
	}
	out["totals"] = rowMap(totals)
	first, last := store.Int64(totals.Rows[0][3]), store.Int64(totals.Rows[0][4])
	if !from.IsZero() {
		first = from.Unix()
	}
	if !to.IsZero() {
		last = to.Unix()
	}
	bs := strconv.FormatInt(bucketFor(first, last), 10)

	// In and out: for an IP, traffic to it and from it; for an ENI or an
	// instance, the record's flow-direction, or the derived direction when
	// the log format lacks it.
	inExpr := `dstaddr = ?`
	inArgs := []any{value}
	if kind != "ip" {
		inExpr, inArgs = `coalesce(flow_direction = 'ingress', direction = 'inbound', FALSE)`, nil
	}
	seriesArgs := append(append(append([]any{}, inArgs...), inArgs...), args...)
	queries := []struct {
		key  string
		sql  string
		args []any
	}{
		{"series", `SELECT ("start" - "start" % ` + bs + `) AS t,
			coalesce(sum(CASE WHEN ` + inExpr + ` THEN bytes ELSE 0 END), 0) AS bytes_in,
			coalesce(sum(CASE WHEN ` + inExpr + ` THEN 0 ELSE bytes END), 0) AS bytes_out,
			count(*) AS flows, coalesce(sum(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END), 0) AS rejected
			FROM vpc_flow_logs WHERE ` + where + ` AND "start" IS NOT NULL GROUP BY 1 ORDER BY 1`, seriesArgs},
		{"edges", `SELECT srcaddr, dstaddr, sum(bytes) AS bytes, count(*) AS flows,
			coalesce(sum(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END), 0) AS rejected
			FROM vpc_flow_logs WHERE ` + where + ` AND srcaddr IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC, 4 DESC, 1, 2 LIMIT 40`, args},
		{"ports", `SELECT dstport, protocol, count(*) AS flows, sum(bytes) AS bytes,
			coalesce(sum(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END), 0) AS rejected, count(DISTINCT srcaddr) AS sources
			FROM vpc_flow_logs WHERE ` + where + ` AND dstport IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 25`, args},
		{"flows", `SELECT "start", "end", interface_id, srcaddr, srcport, dstaddr, dstport, protocol, packets, bytes, action, log_status
			FROM vpc_flow_logs WHERE ` + where + ` ORDER BY "start" DESC, srcaddr, dstaddr LIMIT 100`, args},
	}
	for _, q := range queries {
		res, err := queryRows(ctx, rd, 1000, q.sql, q.args...)
		if err != nil {
			writeError(w, http.StatusInternalServerError, fmt.Errorf("cannot compute %s of %s %s: %w", q.key, kind, value, err))
			return
		}
		out[q.key] = res
	}
	if s.deps.Findings != nil {
		if fs, err := s.deps.Findings.List(ctx); err == nil {
			var mine []Finding
			for _, f := range fs {
				if f.Entity.Value == value || contains(f.Counterparts, value) {
					mine = append(mine, f)
				}
			}
			out["findings"] = filterFindings(mine, nil)
		}
	}
	if s.deps.Inventory != nil {
		if info, ok := s.deps.Inventory.Lookup(kind, value); ok {
			out["inventory"] = info
		}
	}
	writeJSON(w, http.StatusOK, out)
}
