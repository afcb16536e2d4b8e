package local_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium; under CI=true its absence fails.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if inCI() {
		t.Fatal("chromium not found: scripts/test.sh installs it (./scripts/deps.sh chromium)")
	}
	t.Skip("chromium not found (apt-get install chromium); required when CI=true")
	return ""
}

// TestConsoleInBrowser drives the console in headless Chromium against a
// server on loopback holding generated, ingested and hunted data. Every page
// must load without console errors; screenshots go to artifacts/screenshots.
func TestConsoleInBrowser(t *testing.T) {
	if _, err := os.Stat("../dist/index.html"); err != nil {
		if inCI() {
			t.Fatal("console not built: run ./scripts/web.sh")
		}
		t.Skip("console not built (./scripts/web.sh)")
	}
	bin := chromiumPath(t)
	e := newEnv(t, 6, 0.1, true)
	shots := filepath.Join("..", "..", "..", "artifacts", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelT()

	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				mu.Lock()
				problems = append(problems, string(m.Type)+": "+m.Text)
				mu.Unlock()
			}
		}
	}()
	checkClean := func(page string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("%s page: %s", page, p)
		}
		problems = nil
	}
	// waitPage waits until the router rendered page completely.
	waitPage := func(page string) {
		t.Helper()
		js := fmt.Sprintf(`(() => { const a = document.getElementById('app'); return a && a.dataset.page === %q && a.dataset.ready === 'true'; })()`, page)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(45*time.Second))); err != nil {
			t.Fatalf("%s page did not finish loading: %v", page, err)
		}
		errText, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('#app .error')).map(e => e.textContent).join('; ')`))
		if errText != "" {
			t.Errorf("%s page shows an error: %s", page, errText)
		}
	}
	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	points := func(chart string) int {
		t.Helper()
		js := fmt.Sprintf(`(() => { const el = document.querySelector('[data-chart=%q]'); return el && el.querySelector('canvas') ? Number(el.dataset.points || 0) : -1; })()`, chart)
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	gotoHash := func(hash, page string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById('app').dataset.ready = ''; location.hash = %q`, hash))); err != nil {
			t.Fatal(err)
		}
		waitPage(page)
	}

	// Sign in through the one-time link, which lands on the overview.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.url+"/?token="+token)); err != nil {
		t.Fatal(err)
	}
	waitPage("overview")
	for _, c := range []string{"traffic", "flows", "rejected", "severity"} {
		if n := points(c); n <= 0 {
			t.Errorf("overview chart %s has %d points, want data", c, n)
		}
	}
	shot("overview")
	checkClean("overview")

	// Findings list, then the first finding.
	gotoHash("#/findings", "findings")
	nFindings, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('a.finding-link').length`))
	if nFindings == 0 {
		t.Fatal("findings page lists no finding")
	}
	shot("findings")
	checkClean("findings")

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a.finding-link`))); err != nil {
		t.Fatal(err)
	}
	waitPage("finding")
	sqlText, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#finding-sql`)))
	evidenceRows, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#app table.grid tbody tr').length`))
	if strings.TrimSpace(sqlText) == "" {
		t.Error("finding page shows no reproducing SQL")
	}
	if evidenceRows == 0 {
		t.Error("finding page shows no evidence flows")
	}
	if n := points("timeline"); n <= 0 {
		t.Errorf("finding timeline has %d points", n)
	}
	// Status buttons change the finding's status.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-status="acknowledged"]`))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('finding-status').textContent === 'acknowledged'`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("status button did not acknowledge the finding: %v", err)
	}
	shot("finding")
	checkClean("finding")

	// "Run in console" runs the reproducing query, which returns rows.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#run-in-console`))); err != nil {
		t.Fatal(err)
	}
	waitPage("query")
	count, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#result-count`)))
	if err != nil {
		t.Fatalf("reproduce query shows no result: %v", err)
	}
	if strings.HasPrefix(count, "0 rows") {
		t.Errorf("reproduce query returned %q", count)
	}
	shot("query-reproduce")
	checkClean("query (reproduce)")

	// The query console runs the seed's fourth query from its sample list.
	gotoHash("#/query", "query")
	clicked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const b = Array.from(document.querySelectorAll('button.sample')).find(b => b.textContent === 'Repeated failed connection attempts');
		if (b) b.click();
		return !!b; })()`))
	if err != nil || !clicked {
		t.Fatalf("cannot click the seed query sample: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!document.getElementById('result-count')`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("seed query shows no result: %v", err)
	}
	if count, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#result-count`))); err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(count, "0 rows") {
		t.Errorf("seed query returned %q", count)
	}
	shot("query")
	checkClean("query")

	// Entity page of a finding's entity: volume and peers.
	entityHref, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const a = document.querySelector('#app table a.ent'); return a ? a.getAttribute('href') : ''; })()`))
	if entityHref == "" {
		t.Fatal("no entity link in the query result")
	}
	gotoHash(entityHref, "entity")
	for _, c := range []string{"volume", "peers"} {
		if n := points(c); n <= 0 {
			t.Errorf("entity chart %s has %d points", c, n)
		}
	}
	shot("entity")
	checkClean("entity")

	gotoHash("#/audit", "audit")
	auditTables, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#app table.grid').length`))
	if auditTables == 0 {
		t.Error("audit page shows no table")
	}
	shot("audit")
	checkClean("audit")
}
