package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
)

func init() {
	register("findings", "list, show and triage stored findings (list | show ID | set-status ID STATUS)", runFindings)
}

func runFindings(ctx context.Context, args []string) error {
	fs := newFlags("findings", "list|show ID|set-status ID STATUS [flags]")
	data := fs.String("data", "", "data directory (env FLOWHUNT_DATA, default ./flowhunt-data)")
	output := fs.String("output", "table", "table, jsonl, ocsf or asff (list); show prints JSON")
	minSev := fs.String("min-severity", "info", "list findings at or above this severity")
	status := fs.String("status", "", "list findings with this status only")
	detector := fs.String("detector", "", "list findings of this detector only")
	if len(args) == 0 {
		fs.Usage()
		return fmt.Errorf("%w: want list, show or set-status", errUsage)
	}
	verb, rest := args[0], args[1:]
	// Flags may follow the positional arguments.
	var pos []string
	for len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	st := detect.NewFindingStore(dataDir(*data))
	switch verb {
	case "list":
		min, err := detect.ParseSeverity(*minSev)
		if err != nil {
			return fmt.Errorf("%w: --min-severity: %v", errUsage, err)
		}
		var want detect.Status
		if *status != "" {
			if want, err = detect.ParseStatus(*status); err != nil {
				return fmt.Errorf("%w: --status: %v", errUsage, err)
			}
		}
		all, err := st.Load()
		if err != nil {
			return err
		}
		var out []detect.Finding
		for _, f := range all {
			if f.Severity >= min && (want == "" || f.Status == want) && (*detector == "" || f.Detector == *detector) {
				out = append(out, f)
			}
		}
		return writeFindings(os.Stdout, out, *output, detect.ASFFOptions{AccountID: "000000000000", Region: "us-east-1"})
	case "show":
		if len(pos) != 1 {
			return fmt.Errorf("%w: show wants one finding id", errUsage)
		}
		f, err := st.Get(pos[0])
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(f)
	case "set-status":
		if len(pos) != 2 {
			return fmt.Errorf("%w: set-status wants a finding id and a status", errUsage)
		}
		s, err := detect.ParseStatus(pos[1])
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		f, err := st.SetStatus(pos[0], s)
		if err != nil {
			return err
		}
		fmt.Printf("%s %s (%s)\n", f.ID, f.Status, f.Updated.Format(time.RFC3339))
		return nil
	}
	return fmt.Errorf("%w: unknown findings command %q: want list, show or set-status", errUsage, verb)
}
