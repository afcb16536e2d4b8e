package detect

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// Rule is a user detection: a SQL query over vpc_flow_logs with a condition
// on its result columns. In the SQL, $window stands for the hunt window
// condition. Result columns with these names have a meaning: entity (else
// the first column), counterpart, port, first_seen and last_seen (epoch
// seconds); every other column becomes evidence.
//
//	name: smb_to_internet
//	description: SMB leaving the VPC
//	severity: high
//	mitre: [T1048]
//	sql: |
//	  SELECT srcaddr AS entity, dstaddr AS counterpart, dstport AS port,
//	         count(*) AS flows, min(start) AS first_seen, max("end") AS last_seen
//	  FROM vpc_flow_logs WHERE $window AND dstport = 445 AND direction = 'outbound'
//	  GROUP BY srcaddr, dstaddr, dstport
//	condition: flows >= 3
//	test:
//	  records: smb_to_internet.log   # flow log text beside the rule file
//	  expect: 1                      # findings expected from those records
type Rule struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Severity    string   `yaml:"severity"`
	MITRE       []string `yaml:"mitre"`
	SQL         string   `yaml:"sql"`
	Condition   string   `yaml:"condition"`
	Test        struct {
		Records string `yaml:"records"`
		Expect  int    `yaml:"expect"`
	} `yaml:"test"`

	File     string `yaml:"-"`
	severity Severity
}

var (
	ruleName  = regexp.MustCompile(`^[a-z][a-z0-9_]{1,62}$`)
	mitreID   = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
	forbidden = regexp.MustCompile(`(?i)\b(insert|update|delete|drop|create|alter|copy|attach|detach|pragma|install|load|export|import|set|call)\b`)
)

// ParseRule decodes and validates one rule file; name is used in errors.
func ParseRule(data []byte, name string) (*Rule, error) {
	var r Rule
	if err := yaml.UnmarshalWithOptions(data, &r, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("cannot parse rule %s: %w", name, err)
	}
	r.File = name
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("cannot load rule %s: %w", name, err)
	}
	return &r, nil
}

// Validate checks a rule without running it.
func (r *Rule) Validate() error {
	if !ruleName.MatchString(r.Name) {
		return fmt.Errorf("name %q: want lowercase letters, digits and _ (2-63 characters)", cut(r.Name, 70))
	}
	if _, ok := Lookup(r.Name); ok {
		return fmt.Errorf("name %q is a built-in detector", r.Name)
	}
	if r.Description == "" {
		return fmt.Errorf("description is required")
	}
	sev, err := ParseSeverity(r.Severity)
	if err != nil {
		return err
	}
	r.severity = sev
	if len(r.MITRE) == 0 {
		return fmt.Errorf("mitre: at least one ATT&CK technique id is required")
	}
	for _, m := range r.MITRE {
		if !mitreID.MatchString(m) {
			return fmt.Errorf("mitre id %q: want T1234 or T1234.001", cut(m, 20))
		}
	}
	s := strings.TrimSpace(r.SQL)
	if !strings.HasPrefix(strings.ToUpper(s), "SELECT") {
		return fmt.Errorf("sql must be one SELECT statement")
	}
	if strings.Contains(strings.TrimSuffix(s, ";"), ";") {
		return fmt.Errorf("sql must be one statement (found ';')")
	}
	if m := forbidden.FindString(s + " " + r.Condition); m != "" {
		return fmt.Errorf("sql or condition uses %q: rules are read-only", m)
	}
	if !strings.Contains(s, "$window") {
		return fmt.Errorf("sql must restrict itself to the hunt window with $window")
	}
	if strings.Contains(r.Condition, ";") {
		return fmt.Errorf("condition must be an expression over the result columns")
	}
	return nil
}

// Query returns the rule's SQL for a window, condition applied.
func (r *Rule) Query(from, to int64) string {
	w := "(start >= " + strconv.FormatInt(from, 10) + " AND start < " + strconv.FormatInt(to, 10) + ")"
	s := strings.ReplaceAll(strings.TrimSuffix(strings.TrimSpace(r.SQL), ";"), "$window", w)
	if strings.TrimSpace(r.Condition) == "" {
		return s
	}
	return "SELECT * FROM (" + s + ") AS rule_rows WHERE " + r.Condition
}

// Run runs the rule as a detector.
func (r *Rule) Run(ctx context.Context, env *Env) ([]Finding, error) {
	from, to := env.window()
	sql := r.Query(from, to)
	rows, err := env.Q.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("cannot run rule %s (%s): %w", r.Name, r.File, err)
	}
	cols, err := rows.Columns()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("cannot run rule %s: %w", r.Name, err)
	}
	idx := map[string]int{}
	for i, c := range cols {
		idx[strings.ToLower(c)] = i
	}
	ent, ok := idx["entity"]
	if !ok {
		ent = 0
	}
	var out []Finding
	err = query(ctx, env.Q, r.Name, sql, nil, func(rw row) error {
		f := Finding{
			Title:       r.Description,
			Description: r.Description,
			Severity:    r.severity,
			Score:       float64(r.severity) * 20,
			MITRE:       r.MITRE,
			Entity:      Entity{Kind: EntityIP, Value: rw.Str(ent)},
			FirstSeen:   env.From,
			LastSeen:    env.To,
			Evidence:    map[string]any{},
			SQL:         sql,
		}
		if !strings.Contains(f.Entity.Value, ".") && !strings.Contains(f.Entity.Value, ":") {
			f.Entity.Kind = entityKind(f.Entity.Value)
		}
		for i, c := range cols {
			switch strings.ToLower(c) {
			case "entity":
			case "counterpart":
				f.Counterparts = append(f.Counterparts, rw.Str(i))
				f.Key = rw.Str(i)
			case "port":
				f.Ports = append(f.Ports, int(rw.Int(i)))
			case "first_seen":
				f.FirstSeen = ts(rw.Int(i))
			case "last_seen":
				f.LastSeen = ts(rw.Int(i))
			default:
				if i != ent {
					f.Evidence[c] = rw[i]
				}
			}
		}
		out = append(out, f)
		return nil
	})
	return out, err
}

func entityKind(v string) string {
	switch {
	case strings.HasPrefix(v, "eni-"):
		return EntityENI
	case strings.HasPrefix(v, "i-"):
		return EntityInstance
	case strings.HasPrefix(v, "subnet-"):
		return EntitySubnet
	case strings.HasPrefix(v, "vpc-"):
		return EntityVPC
	}
	return EntityAccount
}
