// Package correlate joins flows with the control plane: CloudTrail events
// that opened a path or blinded flow logging, and GuardDuty findings, turned
// into findings that link the event behind them.
package correlate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/flowhunt/flowhunt/internal/store"
)

// MaxObjectBytes caps one decompressed CloudTrail or GuardDuty object.
const MaxObjectBytes = 512 << 20

// Event is one CloudTrail record, with the fields correlation needs and the
// request and response kept as JSON.
type Event struct {
	EventID           string          `json:"eventID"`
	EventTime         time.Time       `json:"eventTime"`
	EventName         string          `json:"eventName"`
	EventSource       string          `json:"eventSource"`
	Region            string          `json:"awsRegion"`
	Account           string          `json:"recipientAccountId"`
	SourceIP          string          `json:"sourceIPAddress"`
	UserAgent         string          `json:"userAgent"`
	ErrorCode         string          `json:"errorCode"`
	ErrorMessage      string          `json:"errorMessage"`
	ReadOnly          bool            `json:"readOnly"`
	EventType         string          `json:"eventType"`
	RequestParameters json.RawMessage `json:"requestParameters"`
	ResponseElements  json.RawMessage `json:"responseElements"`
	UserIdentity      struct {
		Type      string `json:"type"`
		ARN       string `json:"arn"`
		AccountID string `json:"accountId"`
		UserName  string `json:"userName"`
	} `json:"userIdentity"`
	Object string `json:"-"` // the object the event came from
}

// Succeeded reports whether the call took effect.
func (e *Event) Succeeded() bool { return e.ErrorCode == "" }

// CloudTrailTable is the side table of CloudTrail events.
const CloudTrailTable = "cloudtrail"

// CloudTrailColumns are the columns of CloudTrailTable.
func CloudTrailColumns() []store.Column {
	return []store.Column{
		{Name: "event_id", Type: "VARCHAR"}, {Name: "event_time", Type: "TIMESTAMP"},
		{Name: "event_name", Type: "VARCHAR"}, {Name: "event_source", Type: "VARCHAR"},
		{Name: "aws_region", Type: "VARCHAR"}, {Name: "account_id", Type: "VARCHAR"},
		{Name: "source_ip", Type: "VARCHAR"}, {Name: "user_type", Type: "VARCHAR"},
		{Name: "user_arn", Type: "VARCHAR"}, {Name: "user_agent", Type: "VARCHAR"},
		{Name: "error_code", Type: "VARCHAR"}, {Name: "read_only", Type: "BOOLEAN"},
		{Name: "request_parameters", Type: "VARCHAR"}, {Name: "response_elements", Type: "VARCHAR"},
		{Name: "source_object", Type: "VARCHAR"},
	}
}

// Row returns the event as a row of CloudTrailColumns.
func (e *Event) Row() []any {
	return []any{e.EventID, e.EventTime.UTC(), e.EventName, e.EventSource, e.Region, e.Account, e.SourceIP,
		e.UserIdentity.Type, e.UserIdentity.ARN, e.UserAgent, e.ErrorCode, e.ReadOnly,
		rawOrNil(e.RequestParameters), rawOrNil(e.ResponseElements), e.Object}
}

func rawOrNil(r json.RawMessage) any {
	if len(r) == 0 || string(r) == "null" {
		return nil
	}
	return string(r)
}

// openMaybeGzip returns a reader of r's content, decompressing it when it
// starts with the gzip magic, capped at MaxObjectBytes.
func openMaybeGzip(r io.Reader, name string) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("cannot open gzip %s: %w", name, err)
		}
		return io.LimitReader(zr, MaxObjectBytes), nil
	}
	return io.LimitReader(br, MaxObjectBytes), nil
}

// ParseCloudTrail reads one CloudTrail object ({"Records":[…]}, gzip or
// not). A digest file or an object without Records gives no events.
func ParseCloudTrail(r io.Reader, object string) ([]Event, error) {
	rd, err := openMaybeGzip(r, object)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("cannot read cloudtrail object %s: %w", object, err)
	}
	var doc struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("cannot parse cloudtrail object %s: %w", object, err)
	}
	out := make([]Event, 0, len(doc.Records))
	for i, raw := range doc.Records {
		var e Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("cannot parse cloudtrail object %s: record %d: %w: %q", object, i, err, cutBytes(raw, 120))
		}
		if e.Account == "" {
			e.Account = e.UserIdentity.AccountID
		}
		e.Object = object
		out = append(out, e)
	}
	return out, nil
}

func cutBytes(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
