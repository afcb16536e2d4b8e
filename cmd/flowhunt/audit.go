package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/flowhunt/flowhunt/internal/audit"
	"github.com/flowhunt/flowhunt/internal/correlate"
	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/enrich"
	"github.com/flowhunt/flowhunt/internal/store"
)

func init() {
	register("audit", "check security groups and NACLs against observed traffic", runAudit)
	register("correlate", "join CloudTrail and GuardDuty with flows", runCorrelate)
}

func loadInventory(ctx context.Context, dir string, live bool) (*enrich.Inventory, error) {
	if live {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("cannot load AWS configuration for --live: %w", err)
		}
		return enrich.LoadInventoryLive(ctx, cfg)
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: --inventory DIR (describe-*.json files) or --live is required", errUsage)
	}
	return enrich.LoadInventoryDir(dir)
}

func runAudit(ctx context.Context, args []string) error {
	fs := newFlags("audit", "--inventory DIR [--policy FILE] [--from T --to T] [--output table|json]")
	data := fs.String("data", "", "data directory (default $FLOWHUNT_DATA or ./flowhunt-data)")
	storeU := storeFlag(fs)
	invDir := fs.String("inventory", "", "directory of `aws ec2 describe-*` JSON files")
	live := fs.Bool("live", false, "read the inventory through the EC2 API (default AWS credentials and region)")
	policy := fs.String("policy", "", "YAML segmentation policy file")
	from := fs.String("from", "", "window start (RFC 3339 or date)")
	to := fs.String("to", "", "window end (RFC 3339 or date)")
	output := fs.String("output", "table", "table or json")
	maxItems := fs.Int("max", 20, "rows per section in table output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var cfg audit.Config
	var err error
	if *from != "" {
		if cfg.From, err = parseTimeFlag(*from); err != nil {
			return fmt.Errorf("%w: --from: %v", errUsage, err)
		}
	}
	if *to != "" {
		if cfg.To, err = parseTimeFlag(*to); err != nil {
			return fmt.Errorf("%w: --to: %v", errUsage, err)
		}
	}
	if *policy != "" {
		if cfg.Policies, err = audit.LoadPolicies(*policy); err != nil {
			return err
		}
	}
	inv, err := loadInventory(ctx, *invDir, *live)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, *storeU, *data, inv.InternalPrefixes())
	if err != nil {
		return err
	}
	defer st.Close()
	rd, err := st.OpenReader(ctx, store.ReaderOptions{From: cfg.From, To: cfg.To})
	if err != nil {
		return err
	}
	defer rd.Close()
	rep, err := audit.Run(ctx, rd, inv, cfg)
	if err != nil {
		return err
	}
	if *output == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printAudit(os.Stdout, rep, *maxItems)
	return nil
}

func printAudit(out io.Writer, rep *audit.Report, max int) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "audited %d flow records (%d on interfaces missing from the inventory, %d not addressed to their interface)\n\n",
		rep.Records, rep.UnknownENIRecords, rep.TransitRecords)
	fmt.Fprintf(w, "OPEN TO THE WORLD AND USED FROM OUTSIDE (worst first)\n")
	fmt.Fprintf(w, "GROUP\tNAME\tRULE\tPORTS\tPEER\tEXT PEERS\tRECORDS\tFIRST SEEN\tTOP PEERS\n")
	for _, u := range head(rep.OpenUsed, max) {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", u.GroupID, u.GroupName, u.RuleID, u.Ports, u.Peer, u.ExternalPeers, u.Records,
			u.FirstSeen.Format(time.RFC3339), strings.Join(head(u.TopPeers, 3), ","))
	}
	fmt.Fprintf(w, "\nRULE HITS\nRULE\tNAME\tDIR\tPORTS\tPEER\tRECORDS\tPEERS\tLAST SEEN\n")
	for _, u := range rep.Rules {
		if u.Records == 0 {
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", u.RuleID, u.GroupName, u.Direction, u.Ports, u.Peer, u.Records, u.Peers, u.LastSeen.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "\nUNUSED RULES (%d; candidates to remove)\nRULE\tNAME\tDIR\tPORTS\tPEER\tENIS\n", len(rep.Unused))
	for _, u := range head(rep.Unused, max) {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\n", u.RuleID, u.GroupName, u.Direction, u.Ports, u.Peer, u.ENIs)
	}
	fmt.Fprintf(w, "\nREJECTS BY DECIDING RULE (%d groups)\nENI\tNAME\tDIR\tPORTS\tREPLY\tBY\tRULE\tRECORDS\tREMOTES\tSAMPLE\n", rep.RejectsTotal)
	for _, r := range head(rep.Rejects, max) {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%s\t%s\t%d\t%d\t%s\n", r.ENI, r.Name, r.Direction, r.Ports, r.Reply, r.By, r.Rule, r.Records, r.Remotes, r.Sample)
	}
	fmt.Fprintf(w, "\nACCEPTED BUT NOT EXPLAINED BY THE RULES (%d)\nENI\tNAME\tDIR\tREMOTE\tPORTS\tRECORDS\tREASON\n", rep.UnexplainedTotal)
	for _, u := range head(rep.Unexplained, max) {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", u.ENI, u.Name, u.Direction, u.Remote, u.Ports, u.Records, u.Reason)
	}
	if len(rep.NACL) > 0 {
		fmt.Fprintf(w, "\nNACL ENTRY HITS\nACL\tDIR\tRULE\tACTION\tPORTS\tCIDR\tRECORDS\n")
		for _, n := range rep.NACL {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", n.ACL, n.Direction, n.Rule, n.Action, n.Ports, n.CIDR, n.Records)
		}
	}
	if len(rep.Violations) > 0 {
		fmt.Fprintf(w, "\nPOLICY VIOLATIONS (%d)\nPOLICY\tKIND\tSRC\tDST\tPORTS\tRECORDS\tFIRST SEEN\n", len(rep.Violations))
		for _, v := range head(rep.Violations, max) {
			fmt.Fprintf(w, "%s\t%s\t%s %s\t%s %s\t%s\t%d\t%s\n", v.Policy, v.Kind, v.Src, v.SrcName, v.Dst, v.DstName, v.Ports, v.Records, v.FirstSeen.Format(time.RFC3339))
		}
	}
	w.Flush()
}

func head[T any](s []T, n int) []T {
	if n > 0 && len(s) > n {
		return s[:n]
	}
	return s
}

func runCorrelate(ctx context.Context, args []string) error {
	fs := newFlags("correlate", "[--inventory DIR] [--cloudtrail DIR] [--guardduty FILE] [--output table|json]")
	data := fs.String("data", "", "data directory (default $FLOWHUNT_DATA or ./flowhunt-data); holds the findings file")
	storeU := storeFlag(fs)
	invDir := fs.String("inventory", "", "directory of `aws ec2 describe-*` JSON files")
	live := fs.Bool("live", false, "read the inventory through the EC2 API")
	trail := fs.String("cloudtrail", "", "directory of CloudTrail objects (*.json, *.json.gz)")
	gd := fs.String("guardduty", "", "GuardDuty findings (JSON array, get-findings output or EventBridge events)")
	window := fs.String("window", "24h", "how long after a change to look for traffic through it")
	output := fs.String("output", "table", "table or json")
	save := fs.Bool("save", true, "store the events as side tables cloudtrail and guardduty (queryable with flowhunt query) and the findings in the findings store (flowhunt findings, the console)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	win, err := parseAgeFlag(*window)
	if err != nil {
		return fmt.Errorf("%w: --window: %v", errUsage, err)
	}
	var in correlate.Input
	if *invDir != "" || *live {
		if in.Inventory, err = loadInventory(ctx, *invDir, *live); err != nil {
			return err
		}
	}
	if *trail != "" {
		if in.Events, err = correlate.LoadCloudTrailDir(*trail); err != nil {
			return err
		}
	}
	if *gd != "" {
		if in.GuardDuty, err = correlate.LoadGuardDutyFile(*gd); err != nil {
			return err
		}
	}
	var prefixes []netip.Prefix
	if in.Inventory != nil {
		prefixes = in.Inventory.InternalPrefixes()
	}
	st, err := openStore(ctx, *storeU, *data, prefixes)
	if err != nil {
		return err
	}
	defer st.Close()
	if *save {
		if len(in.Events) > 0 {
			rows := make([][]any, len(in.Events))
			for i := range in.Events {
				rows[i] = in.Events[i].Row()
			}
			if err := st.PutTable(ctx, correlate.CloudTrailTable, correlate.CloudTrailColumns(), rows, true); err != nil {
				return err
			}
		}
		if len(in.GuardDuty) > 0 {
			rows := make([][]any, len(in.GuardDuty))
			for i := range in.GuardDuty {
				rows[i] = in.GuardDuty[i].Row()
			}
			if err := st.PutTable(ctx, correlate.GuardDutyTable, correlate.GuardDutyColumns(), rows, true); err != nil {
				return err
			}
		}
	}
	fst := detect.NewFindingStore(dataDir(*data))
	own, err := fst.Load()
	if err != nil {
		return err
	}
	in.Findings = own
	rd, err := st.OpenReader(ctx, store.ReaderOptions{})
	if err != nil {
		return err
	}
	defer rd.Close()
	var q store.Querier = rd
	res, err := correlate.Run(ctx, q, in, correlate.Config{Internal: prefixes, ExposureWindow: win})
	if err != nil {
		return err
	}
	if *save {
		if res.Findings, err = correlate.Save(fst, res); err != nil {
			return err
		}
	}
	if *output == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "%d CloudTrail events, %d GuardDuty findings, %d flowhunt findings\n\n", len(in.Events), len(in.GuardDuty), len(own))
	fmt.Fprintf(w, "ID\tSEVERITY\tSCORE\tDETECTOR\tENTITY\tFIRST SEEN\tLINKS\tTITLE\n")
	for _, f := range res.Findings {
		fmt.Fprintf(w, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\n", f.ID, f.Severity, f.Score, f.Detector, f.Entity.Value, f.FirstSeen.Format(time.RFC3339), strings.Join(f.Links, " "), f.Title)
	}
	if *save {
		fmt.Fprintf(w, "\n%d findings saved in %s (flowhunt findings list)\n", len(res.Findings), fst.Path)
	}
	if len(res.Corroborated) > 0 {
		fmt.Fprintf(w, "\nFLOWHUNT FINDINGS GUARDDUTY AGREES WITH\nID\tDETECTOR\tENTITY\tSCORE\tLINKS\n")
		for _, f := range res.Corroborated {
			fmt.Fprintf(w, "%s\t%s\t%s\t%.0f\t%s\n", f.ID, f.Detector, f.Entity.Value, f.Score, strings.Join(f.Links, " "))
		}
	}
	return w.Flush()
}
