package simulate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/klauspost/compress/gzip"
)

// formatsSlice returns the slots written again in the other delivery
// formats: FormatsSlice of traffic from 40 % into the span, where the brute
// force and other attacks are.
func (p *plan) formatsSlice() (first, last int64) {
	slots := (p.end - p.start) / slotSeconds
	n := max(int64(p.cfg.FormatsSlice/time.Second)/slotSeconds, 1)
	first = (p.at(0.40) - p.start) / slotSeconds
	if first+n > slots {
		first = max(slots-n, 0)
	}
	return first, min(first+n, slots)
}

// writeFormats writes the formats slice as CloudWatch Logs exports and
// subscription payloads, Firehose deliveries, Parquet objects and S3 text in
// the Hive-compatible, hourly key layout.
func (p *plan) writeFormats(ctx context.Context, outDir string) (int, error) {
	first, last := p.formatsSlice()
	base := filepath.Join(outDir, "formats")
	o := &slotOut{recs: make([][]record, len(p.top.VPCs))}
	files := 0
	var fr flowlog.Record
	zw := gzip.NewWriter(nil)
	cwEvents := make([][]byte, len(p.top.VPCs))
	cwConsole := make([][]byte, len(p.top.VPCs))
	for slot := first; slot < last; slot++ {
		if err := ctx.Err(); err != nil {
			return files, err
		}
		p.generateSlot(o, slot)
		ts := time.Unix(o.t0, 0).UTC()
		for vi, v := range p.top.VPCs {
			rs := o.recs[vi]
			if len(rs) == 0 {
				continue
			}
			version := v.Layout.Version()
			fl := p.flowLogID(v, o.t0)
			// Per ENI streams for the CloudWatch subscription payloads, in
			// first-seen order.
			var order []*ENI
			byENI := map[*ENI][]flowlog.Record{}
			var fh, text []byte
			var pq bytes.Buffer
			pw := flowlog.NewParquetWriter(&pq, v.Layout)
			text = append(text, v.Layout.Header()...)
			text = append(text, '\n')
			for i := range rs {
				rs[i].toFlowlog(&fr, &v.Layout, version, p.cfg.AccountID, p.cfg.Region)
				cwEvents[vi] = flowlog.AppendCloudWatchExportEvent(cwEvents[vi], &fr, v.Layout, rs[i].eni.ID)
				cwConsole[vi] = time.Unix(rs[i].start, 0).UTC().AppendFormat(cwConsole[vi], "2006-01-02T15:04:05.000Z")
				cwConsole[vi] = append(cwConsole[vi], ' ')
				cwConsole[vi] = appendRecord(cwConsole[vi], &rs[i], &v.Layout, version, p.cfg.AccountID, p.cfg.Region)
				cwConsole[vi] = append(cwConsole[vi], '\n')
				fh = flowlog.AppendFirehoseRecord(fh, &fr, v.Layout)
				text = appendRecord(text, &rs[i], &v.Layout, version, p.cfg.AccountID, p.cfg.Region)
				text = append(text, '\n')
				if err := pw.Write(&fr); err != nil {
					return files, fmt.Errorf("cannot write parquet object: %w", err)
				}
				if _, ok := byENI[rs[i].eni]; !ok {
					order = append(order, rs[i].eni)
				}
				byENI[rs[i].eni] = append(byENI[rs[i].eni], fr)
			}
			if err := pw.Close(); err != nil {
				return files, fmt.Errorf("cannot write parquet object: %w", err)
			}
			stamp := ts.Format("20060102T1504Z")
			name := fmt.Sprintf("%s_vpcflowlogs_%s_%s_%s", p.cfg.AccountID, p.cfg.Region, fl, stamp)
			pqPath := filepath.Join(base, "parquet", "AWSLogs", p.cfg.AccountID, "vpcflowlogs", p.cfg.Region,
				ts.Format("2006/01/02"), name+".log.parquet")
			if err := writeFile(pqPath, pq.Bytes()); err != nil {
				return files, err
			}
			hive := filepath.Join(base, "s3-hive", "AWSLogs", "aws-account-id="+p.cfg.AccountID, "aws-service=vpcflowlogs",
				"aws-region="+p.cfg.Region, ts.Format("year=2006"), ts.Format("month=01"), ts.Format("day=02"),
				ts.Format("hour=15"), name+".log.gz")
			if err := os.MkdirAll(filepath.Dir(hive), 0o755); err != nil {
				return files, fmt.Errorf("cannot create directory: %w", err)
			}
			if _, err := writeGzip(zw, hive, text); err != nil {
				return files, err
			}
			fhPath := filepath.Join(base, "firehose", v.Name, ts.Format("2006/01/02/15"),
				fmt.Sprintf("flowhunt-%s-%s", v.Name, ts.Format("2006-01-02-15-04-05")))
			if err := writeFile(fhPath, fh); err != nil {
				return files, err
			}
			files += 3
			group := "/vpc/flow-logs/" + v.Name
			for _, e := range order {
				var buf bytes.Buffer
				if err := flowlog.EncodeCloudWatchSubscription(&buf, p.cfg.AccountID, group, e.ID, v.Layout, byENI[e]); err != nil {
					return files, fmt.Errorf("cannot encode subscription payload: %w", err)
				}
				sp := filepath.Join(base, "cloudwatch", "subscription", v.Name, stamp, e.ID+".json.gz")
				if err := writeFile(sp, buf.Bytes()); err != nil {
					return files, err
				}
				files++
			}
		}
	}
	for vi, v := range p.top.VPCs {
		if err := writeFile(filepath.Join(base, "cloudwatch", "export", v.Name+".jsonl"), cwEvents[vi]); err != nil {
			return files, err
		}
		if err := writeFile(filepath.Join(base, "cloudwatch", "console", v.Name+".txt"), cwConsole[vi]); err != nil {
			return files, err
		}
		layout := filepath.Join(base, "cloudwatch", v.Name+".logformat")
		if err := writeFile(layout, []byte(v.Layout.LogFormat()+"\n")); err != nil {
			return files, err
		}
		files += 3
	}
	return files, nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cannot create directory for %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}
