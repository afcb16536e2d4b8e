package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// background runs the watcher and the scheduled hunts until ctx ends. Both
// run in this one goroutine, so a hunt never overlaps another and always sees
// what the last poll stored.
func (s *Server) background(ctx context.Context) {
	var huntC, watchC <-chan time.Time
	if s.deps.Hunter != nil && s.cfg.HuntEvery > 0 {
		t := time.NewTicker(s.cfg.HuntEvery)
		defer t.Stop()
		huntC = t.C
		s.primeKnown(ctx)
	}
	if s.deps.Watcher != nil {
		t := time.NewTicker(s.cfg.WatchEvery)
		defer t.Stop()
		watchC = t.C
		s.poll(ctx) // do not wait a whole period for the first objects
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-watchC:
			s.poll(ctx)
		case <-huntC:
			hctx, cancel := context.WithTimeout(ctx, s.cfg.HuntEvery+s.cfg.QueryTimeout)
			s.hunt(hctx)
			cancel()
		}
	}
}

func (s *Server) poll(ctx context.Context) {
	n, err := s.deps.Watcher.Poll(ctx)
	s.metrics.watchObjects.Add(int64(n))
	s.mu.Lock()
	s.lastWatch = s.deps.Now()
	s.lastWatchErr = ""
	if err != nil {
		s.lastWatchErr = err.Error()
	}
	s.mu.Unlock()
}

// primeKnown records the findings that exist before the first scheduled
// hunt, so the webhook only hears about new ones.
func (s *Server) primeKnown(ctx context.Context) {
	if s.deps.Findings == nil {
		return
	}
	fs, err := s.deps.Findings.List(ctx)
	if err != nil {
		return
	}
	s.mu.Lock()
	for _, f := range fs {
		s.known[f.ID] = true
	}
	s.mu.Unlock()
}

// hunt runs the detectors once and posts the new findings at or above the
// webhook severity. It returns how many findings the run produced.
func (s *Server) hunt(ctx context.Context) (int, error) {
	rd, err := s.reader(ctx, time.Time{}, time.Time{})
	if err == nil {
		var fs []Finding
		fs, err = s.deps.Hunter.Hunt(ctx, rd)
		rd.Close()
		if err == nil {
			s.notify(ctx, fs)
			s.metrics.huntRuns.Add(1)
			s.mu.Lock()
			s.hunts++
			s.lastHunt = s.deps.Now()
			s.lastHuntErr = ""
			s.mu.Unlock()
			return len(fs), nil
		}
	}
	s.metrics.huntErrors.Add(1)
	s.mu.Lock()
	s.lastHuntErr = err.Error()
	s.mu.Unlock()
	return 0, fmt.Errorf("cannot hunt: %w", err)
}

// WebhookPayload is what the webhook receives for each new finding.
type WebhookPayload struct {
	Source  string  `json:"source"` // "flowhunt"
	Event   string  `json:"event"`  // "finding.new"
	Finding Finding `json:"finding"`
}

func (s *Server) notify(ctx context.Context, fs []Finding) {
	min := SeverityRank(s.cfg.WebhookMin)
	var fresh []Finding
	s.mu.Lock()
	for _, f := range fs {
		if s.known[f.ID] {
			continue
		}
		s.known[f.ID] = true
		if SeverityRank(f.Severity) >= min {
			fresh = append(fresh, f)
		}
	}
	s.mu.Unlock()
	if s.cfg.Webhook == "" {
		return
	}
	client := &http.Client{Timeout: s.cfg.WebhookWait}
	for _, f := range fresh {
		b, _ := json.Marshal(WebhookPayload{Source: "flowhunt", Event: "finding.new", Finding: f})
		if err := postWebhook(ctx, client, s.cfg.Webhook, b); err != nil {
			s.metrics.webhookErrors.Add(1)
			continue
		}
		s.metrics.webhookPosts.Add(1)
	}
}

// postWebhook posts one payload, retrying twice with backoff on failure.
func postWebhook(ctx context.Context, c *http.Client, url string, body []byte) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		var resp *http.Response
		resp, err = c.Do(req)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		err = fmt.Errorf("webhook answered %s", resp.Status)
	}
	return err
}
