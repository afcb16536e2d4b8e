package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/detect/detecttest"
	"github.com/flowhunt/flowhunt/internal/flowlog"
)

func init() {
	register("rules", "list detectors and rules, validate and test rule files (list | validate FILE... | test FILE...)", runRules)
}

func runRules(ctx context.Context, args []string) error {
	fs := newFlags("rules", "list [--config FILE] | validate FILE|DIR... | test FILE|DIR...")
	cfgPath := fs.String("config", "", "hunt configuration (its rules are listed too)")
	if len(args) == 0 {
		fs.Usage()
		return fmt.Errorf("%w: want list, validate or test", errUsage)
	}
	verb := args[0]
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	switch verb {
	case "list":
		cfg, err := loadHuntConfig(*cfgPath, "")
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 2, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tKIND\tSEVERITY\tMITRE\tPARAMETERS")
		for _, d := range detect.Detectors() {
			var ps []string
			for _, p := range d.Params() {
				ps = append(ps, fmt.Sprintf("%s=%v", p.Name, p.Default))
			}
			fmt.Fprintf(tw, "%s\tbuilt-in\t%s\t%s\t%s\n", d.Name(), d.Severity(), strings.Join(d.MITRE(), ","), cutList(strings.Join(ps, " "), 90))
		}
		for _, r := range cfg.Rules {
			fmt.Fprintf(tw, "%s\trule %s\t%s\t%s\t\n", r.Name, r.File, r.Severity, strings.Join(r.MITRE, ","))
		}
		return tw.Flush()
	case "validate", "test":
		if fs.NArg() == 0 {
			return fmt.Errorf("%w: %s wants rule files or directories", errUsage, verb)
		}
		failed := 0
		for _, p := range fs.Args() {
			rs, err := loadRules(p)
			if err != nil {
				fmt.Fprintf(os.Stderr, "FAIL %v\n", err)
				failed++
				continue
			}
			for _, r := range rs {
				if verb == "validate" {
					fmt.Printf("ok   %s (%s)\n", r.Name, r.File)
					continue
				}
				if err := testRule(ctx, r); err != nil {
					fmt.Printf("FAIL %s (%s): %v\n", r.Name, r.File, err)
					failed++
					continue
				}
				fmt.Printf("ok   %s (%s): %d %s as expected\n", r.Name, r.File, r.Test.Expect, plural(r.Test.Expect, "finding", "findings"))
			}
		}
		if failed > 0 {
			return fmt.Errorf("%d %s failed", failed, plural(failed, "rule", "rules"))
		}
		return nil
	}
	return fmt.Errorf("%w: unknown rules command %q: want list, validate or test", errUsage, verb)
}

// loadRules reads one rule file or every *.yaml / *.yml rule of a directory.
func loadRules(path string) ([]*detect.Rule, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read rules %s: %w", path, err)
	}
	files := []string{path}
	if st.IsDir() {
		files = nil
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(path, pat))
			files = append(files, m...)
		}
		sort.Strings(files)
	}
	var out []*detect.Rule
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("cannot read rule %s: %w", f, err)
		}
		r, err := detect.ParseRule(b, f)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// testRule runs a rule over the example records stored beside it (flow
// log text with a header line) and compares the number of findings.
func testRule(ctx context.Context, r *detect.Rule) error {
	if r.Test.Records == "" {
		return fmt.Errorf("no test.records file to run against")
	}
	p := r.Test.Records
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(r.File), p)
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("cannot open example records: %w", err)
	}
	defer f.Close()
	var recs []flowlog.Record
	var bad []string
	_, err = flowlog.Decode(ctx, f, flowlog.DecodeOptions{Object: p, Format: flowlog.FormatText}, func(b *flowlog.Batch) error {
		for i := 0; i < b.Len; i++ {
			var rec flowlog.Record
			b.Record(i, &rec)
			recs = append(recs, rec)
		}
		return nil
	}, func(rj flowlog.Reject) error {
		bad = append(bad, rj.Error())
		return nil
	})
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("bad example record: %s", bad[0])
	}
	db, err := detecttest.New(nil)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Add(ctx, recs); err != nil {
		return err
	}
	got, err := detect.Hunt(ctx, db, detect.Config{Rules: []*detect.Rule{r}, Only: []string{r.Name}})
	if err != nil {
		return err
	}
	if len(got) != r.Test.Expect {
		return fmt.Errorf("got %d findings from %d example records, want %d", len(got), len(recs), r.Test.Expect)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func cutList(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
