package querytest

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/query"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.txt from the results (review the diff!)")

// goldenCase is one query and the rows it must return on testdata/flows.log,
// kept in testdata/golden/<name>.txt. Rows of a query without ORDER BY (or
// sort) are compared sorted.
type goldenCase struct {
	name     string
	insights bool
	q        string
	ordered  bool
}

func runGolden(t *testing.T, cases []goldenCase) {
	db := openFixture(t)
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var res *query.Result
			var err error
			lim := query.Limits{Timeout: 30 * time.Second, MaxRows: 1000}
			if c.insights {
				res, err = query.RunInsights(ctx, querier{db}, c.q, lim)
			} else {
				res, err = query.Run(ctx, querier{db}, c.q, lim)
			}
			if err != nil {
				t.Fatalf("%s: %v", c.q, err)
			}
			got := format(res, !c.ordered) + "\n"
			path := filepath.Join("testdata", "golden", c.name+".txt")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := string(b); got != want {
				t.Errorf("%s\nSQL: %s\n got:\n%s\nwant:\n%s", c.q, res.SQL, got, want)
			}
		})
	}
}
