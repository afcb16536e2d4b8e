package flowlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
)

// maxEnvelopeBytes caps a CloudWatch or Firehose object held in memory. A
// subscription payload is at most 1 MB and an export file is split by
// CloudWatch; this only guards against a wrong --format on a huge file.
const maxEnvelopeBytes = 1 << 30

// event is one JSON value of CloudWatch or Firehose delivery. The shapes met:
// an exported event {"timestamp","message","logStreamName"}, a Firehose
// record {"message"}, a subscription envelope {"messageType","logEvents":[…]}
// and the output of `aws logs get-log-events` / `filter-log-events`
// {"events":[…]}.
type event struct {
	MessageType string           `json:"messageType"`
	Message     *json.RawMessage `json:"message"`
	LogEvents   []event          `json:"logEvents"`
	Events      []event          `json:"events"`
}

// decodeEnvelopes reads CloudWatch Logs or Firehose delivery. Both wrap the
// record text in JSON; CloudWatch console exports put an ISO timestamp before
// it instead. Line numbers are event numbers: the n-th message of the object.
func (d *decoder) decodeEnvelopes(ctx context.Context, r io.Reader, format Format) error {
	data, err := io.ReadAll(io.LimitReader(r, maxEnvelopeBytes+1))
	if err != nil {
		// Keep what was read before the damage, then report.
		if derr := d.envelopes(ctx, data, format); derr != nil {
			return derr
		}
		return d.readErr(err)
	}
	if len(data) > maxEnvelopeBytes {
		return fmt.Errorf("cannot decode %s: %s object larger than %d bytes", d.opts.Object, format, maxEnvelopeBytes)
	}
	return d.envelopes(ctx, data, format)
}

func (d *decoder) envelopes(ctx context.Context, data []byte, format Format) error {
	t := bytes.TrimSpace(data)
	if bytes.HasPrefix(t, []byte("H4sI")) {
		// A subscription payload as Lambda receives it: base64 of gzip.
		raw := make([]byte, base64.StdEncoding.DecodedLen(len(t)))
		n, err := base64.StdEncoding.Decode(raw, t)
		if err != nil {
			return fmt.Errorf("cannot decode %s: base64 subscription payload: %w", d.opts.Object, err)
		}
		inner, closeInner, err := d.decompress(bytes.NewReader(raw[:n]))
		if err != nil {
			return err
		}
		defer closeInner()
		data, err = io.ReadAll(io.LimitReader(inner, maxEnvelopeBytes))
		if err != nil {
			return fmt.Errorf("cannot decode %s: subscription payload: %w", d.opts.Object, err)
		}
	}
	msg := d.msgBuf[:0] // unescaped message, reused
	defer func() { d.msgBuf = msg[:0] }()
	pos := 0
	for pos < len(data) {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Skip blank space between values and lines.
		for pos < len(data) && (data[pos] == ' ' || data[pos] == '\n' || data[pos] == '\r' || data[pos] == '\t') {
			pos++
		}
		if pos == len(data) {
			break
		}
		if data[pos] != '{' && data[pos] != '[' {
			// A plain line: a console export "ISO-timestamp record", an
			// exported CSV "ms,record", or a bare record.
			end := bytes.IndexByte(data[pos:], '\n')
			if end < 0 {
				end = len(data) - pos
			}
			line := data[pos : pos+end]
			pos += end
			d.stats.Lines++
			if format == FormatFirehose {
				if err := d.rejectLine(d.stats.Lines, line, "not a JSON Firehose record"); err != nil {
					return err
				}
				continue
			}
			if err := d.line(stripEventPrefix(line), d.stats.Lines); err != nil {
				return err
			}
			continue
		}
		// A JSON value; values may be newline-separated or concatenated.
		if m, hasMsg, control, n, ok := flatEvent(data[pos:], msg); ok {
			// The common shapes, scanned without allocating.
			msg = m
			raw := data[pos : pos+n]
			pos += n
			if control {
				continue
			}
			d.stats.Lines++
			if !hasMsg {
				if err := d.rejectLine(d.stats.Lines, raw, `JSON event has no "message"`); err != nil {
					return err
				}
				continue
			}
			if err := d.message(msg); err != nil {
				return err
			}
			continue
		}
		if n, scratch, ok := scanEnvelope(data[pos:], &d.env, d.scratch); ok {
			// A subscription envelope, scanned without allocating per event.
			d.scratch = scratch
			base := pos
			pos += n
			for k := range d.env.end {
				d.stats.Lines++
				if d.env.missing[k] {
					raw := data[base+d.env.raw[k][0] : base+d.env.raw[k][1]]
					if err := d.rejectLine(d.stats.Lines, raw, `JSON event has no "message"`); err != nil {
						return err
					}
					continue
				}
				if err := d.message(d.env.get(k)); err != nil {
					return err
				}
			}
			continue
		} else {
			d.scratch = scratch
		}
		dec := json.NewDecoder(bytes.NewReader(data[pos:]))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			// Quarantine the rest of the line and resynchronise after it.
			at := pos + int(dec.InputOffset())
			end := bytes.IndexByte(data[at:], '\n')
			if end < 0 {
				end = len(data) - at
			}
			lineStart := bytes.LastIndexByte(data[:at], '\n') + 1
			d.stats.Lines++
			if err := d.rejectLine(d.stats.Lines, data[lineStart:at+end], "invalid JSON: "+err.Error()); err != nil {
				return err
			}
			pos = at + end
			continue
		}
		pos += int(dec.InputOffset())
		var err error
		if msg, err = d.jsonValue(raw, msg); err != nil {
			return err
		}
	}
	return d.flush()
}

// jsonValue decodes one JSON value: an event, an envelope or an array of them.
func (d *decoder) jsonValue(raw json.RawMessage, msg []byte) ([]byte, error) {
	if len(raw) > 0 && raw[0] == '[' {
		var evs []event
		if err := json.Unmarshal(raw, &evs); err != nil {
			d.stats.Lines++
			return msg, d.rejectLine(d.stats.Lines, raw, "invalid JSON array of events: "+err.Error())
		}
		return d.events(evs, raw, msg)
	}
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		d.stats.Lines++
		return msg, d.rejectLine(d.stats.Lines, raw, "invalid JSON event: "+err.Error())
	}
	return d.events([]event{ev}, raw, msg)
}

func (d *decoder) events(evs []event, raw []byte, msg []byte) ([]byte, error) {
	for i := range evs {
		ev := &evs[i]
		if ev.MessageType == "CONTROL_MESSAGE" {
			// CloudWatch checks a subscription destination with these.
			continue
		}
		if ev.LogEvents != nil || ev.Events != nil {
			var err error
			if msg, err = d.events(append(ev.LogEvents, ev.Events...), raw, msg); err != nil {
				return msg, err
			}
			continue
		}
		d.stats.Lines++
		if ev.Message == nil {
			if err := d.rejectLine(d.stats.Lines, raw, `JSON event has no "message"`); err != nil {
				return msg, err
			}
			continue
		}
		var s string
		if err := json.Unmarshal(*ev.Message, &s); err != nil {
			if err := d.rejectLine(d.stats.Lines, raw, `"message" is not a JSON string`); err != nil {
				return msg, err
			}
			continue
		}
		msg = append(msg[:0], s...)
		if err := d.message(msg); err != nil {
			return msg, err
		}
	}
	return msg, nil
}

// message decodes the text of one event, numbered d.stats.Lines.
func (d *decoder) message(msg []byte) error {
	msg = bytes.TrimRight(msg, "\r\n")
	if bytes.IndexByte(msg, '\n') >= 0 {
		return d.rejectLine(d.stats.Lines, msg, "message holds more than one line")
	}
	return d.line(msg, d.stats.Lines)
}

// stripEventPrefix removes what CloudWatch exports put before the record:
// an ISO 8601 timestamp and a space (console export), or epoch milliseconds
// and a comma (CSV export). A CSV export's "timestamp,message" header line
// becomes empty and is skipped.
func stripEventPrefix(line []byte) []byte {
	if n := isoPrefixLen(line); n > 0 {
		return line[n:]
	}
	if string(bytes.TrimRight(line, "\r")) == "timestamp,message" {
		return nil
	}
	i := 0
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i >= 10 && i < len(line) && line[i] == ',' {
		rest := bytes.TrimRight(line[i+1:], "\r")
		if len(rest) >= 2 && rest[0] == '"' && rest[len(rest)-1] == '"' {
			rest = rest[1 : len(rest)-1]
		}
		return rest
	}
	return line
}

// isoPrefixLen returns the length of "2018-09-22T20:28:14.000Z " at the start
// of b (fraction and zone optional, zone Z or ±hh:mm), or 0.
func isoPrefixLen(b []byte) int {
	const shape = "dddd-dd-ddTdd:dd:dd"
	if len(b) < len(shape)+1 {
		return 0
	}
	for i := 0; i < len(shape); i++ {
		c := b[i]
		if shape[i] == 'd' {
			if c < '0' || c > '9' {
				return 0
			}
		} else if c != shape[i] {
			return 0
		}
	}
	i := len(shape)
	if i < len(b) && (b[i] == '.' || b[i] == ',') {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && b[i] == 'Z' {
		i++
	} else if i+6 <= len(b) && (b[i] == '+' || b[i] == '-') && b[i+3] == ':' {
		i += 6
	}
	if i < len(b) && b[i] == ' ' {
		return i + 1
	}
	return 0
}
