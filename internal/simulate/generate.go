package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Summary reports what Generate wrote.
type Summary struct {
	OutDir        string
	Records       int64 // flow log records in the S3 text objects
	Objects       int64 // S3 text objects
	TextBytes     int64 // uncompressed text, header lines included
	GzipBytes     int64 // bytes on disk of the S3 text objects
	Attacks       int   // truth entries (attacks and benign look-alikes)
	FormatFiles   int   // files under DIR/formats
	SideFiles     int   // inventory, CloudTrail, GuardDuty and intel files
	Elapsed       time.Duration
	RecordsPerSec float64
}

// Generate writes the simulated account's flow logs, truth file and side
// files under outDir. The output depends only on cfg: the same seed and
// config give byte-identical files.
func Generate(ctx context.Context, cfg Config, outDir string) (Summary, error) {
	began := time.Now()
	if err := cfg.Validate(); err != nil {
		return Summary{}, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Summary{}, fmt.Errorf("cannot create output directory: %w", err)
	}
	p := newPlan(&cfg)
	sum := Summary{OutDir: outDir, Attacks: len(p.attacks)}
	if err := p.writeObjects(ctx, outDir, &sum); err != nil {
		return sum, err
	}
	if err := p.writeTruth(filepath.Join(outDir, "truth.json")); err != nil {
		return sum, err
	}
	if !cfg.NoFormats {
		n, err := p.writeFormats(ctx, outDir)
		sum.FormatFiles = n
		if err != nil {
			return sum, err
		}
	}
	if !cfg.NoSideFiles {
		n, err := p.writeSideFiles(outDir)
		sum.SideFiles = n
		if err != nil {
			return sum, err
		}
	}
	sum.Elapsed = time.Since(began)
	sum.RecordsPerSec = float64(sum.Records) / sum.Elapsed.Seconds()
	return sum, nil
}

// slotRand is the random source of one slot: independent of which worker
// generates the slot and in which order.
func (p *plan) slotRand(slot int64) *rand.Rand {
	return rand.New(rand.NewPCG(p.cfg.Seed^0x9e3779b97f4a7c15, uint64(slot)))
}

// generateSlot fills o with the records that end in the slot.
func (p *plan) generateSlot(o *slotOut, slot int64) {
	o.t0 = p.start + slot*slotSeconds
	o.t1 = o.t0 + slotSeconds
	for i := range o.recs {
		o.recs[i] = o.recs[i][:0]
	}
	r := p.slotRand(slot)
	p.background(r, o)
	ev := p.eventsIn(o.t0, o.t1)
	for i := range ev {
		o.emit(&ev[i])
	}
	p.longAndMarkers(r, o)
	p.background6(rand.New(rand.NewPCG(p.cfg.Seed^0x6b6b_1b6a_f10e_0006, uint64(slot))), o)
	// The primary VPC's flow log does not exist during the logging gap.
	if o.t0 >= p.gapStart && o.t0 < p.gapEnd {
		o.recs[0] = o.recs[0][:0]
	}
}

// flowLogID returns the id of v's flow log at slot start t0.
func (p *plan) flowLogID(v *VPC, t0 int64) string {
	if v.index == 0 && t0 >= p.gapEnd {
		return p.newFlowLogID
	}
	return v.FlowLogID
}

// objectKey returns the S3 key AWS gives the object of v's flow log for the
// 5-minute slot starting at t0.
func (p *plan) objectKey(v *VPC, t0 int64) string {
	ts := time.Unix(t0, 0).UTC()
	fl := p.flowLogID(v, t0)
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/%s/%d", p.cfg.Seed, fl, t0)
	return fmt.Sprintf("AWSLogs/%s/vpcflowlogs/%s/%s/%s_vpcflowlogs_%s_%s_%s_%08x.log.gz",
		p.cfg.AccountID, p.cfg.Region, ts.Format("2006/01/02"),
		p.cfg.AccountID, p.cfg.Region, fl, ts.Format("20060102T1504Z"), h.Sum32())
}

// writeObjects generates every slot on cfg.Workers goroutines, each owning
// its buffers and gzip writer, and writes one gzip object per flow log per slot.
func (p *plan) writeObjects(ctx context.Context, outDir string, sum *Summary) error {
	slots := (p.end - p.start) / slotSeconds
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var recs, objs, text, gz atomic.Int64
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	// Day directories first, so workers never race on MkdirAll.
	for slot := int64(0); slot < slots; slot += 12 {
		for _, v := range p.top.VPCs {
			dir := filepath.Join(outDir, "s3", filepath.Dir(p.objectKey(v, p.start+slot*slotSeconds)))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("cannot create output directory: %w", err)
			}
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < p.cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &slotOut{recs: make([][]record, len(p.top.VPCs))}
			var buf []byte
			zw, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
			for {
				slot := next.Add(1) - 1
				if slot >= slots || ctx.Err() != nil {
					return
				}
				p.generateSlot(o, slot)
				for vi, v := range p.top.VPCs {
					rs := o.recs[vi]
					if len(rs) == 0 {
						continue
					}
					version := v.Layout.Version()
					buf = append(buf[:0], v.Layout.Header()...)
					buf = append(buf, '\n')
					for i := range rs {
						buf = appendRecord(buf, &rs[i], &v.Layout, version, p.cfg.AccountID, p.cfg.Region)
						buf = append(buf, '\n')
					}
					path := filepath.Join(outDir, "s3", p.objectKey(v, o.t0))
					n, err := writeGzip(zw, path, buf)
					if err != nil {
						fail(err)
						return
					}
					recs.Add(int64(len(rs)))
					objs.Add(1)
					text.Add(int64(len(buf)))
					gz.Add(n)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	sum.Records, sum.Objects, sum.TextBytes, sum.GzipBytes = recs.Load(), objs.Load(), text.Load(), gz.Load()
	if firstErr != nil {
		return fmt.Errorf("cannot generate flow logs: %w", firstErr)
	}
	return nil
}

// countingFile counts the bytes written through it.
type countingFile struct {
	f *os.File
	n int64
}

func (c *countingFile) Write(b []byte) (int, error) {
	n, err := c.f.Write(b)
	c.n += int64(n)
	return n, err
}

func writeGzip(zw *gzip.Writer, path string, data []byte) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("cannot create object: %w", err)
	}
	cf := &countingFile{f: f}
	zw.Reset(cf)
	_, err = zw.Write(data)
	if err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("cannot write object %s: %w", path, err)
	}
	return cf.n, nil
}

func (p *plan) writeTruth(path string) error {
	t := Truth{Seed: p.cfg.Seed, Start: p.cfg.Start, End: p.cfg.End(), AccountID: p.cfg.AccountID, Region: p.cfg.Region,
		InternalCIDRs: p.top.InternalCIDRs(), Attacks: p.attacks}
	return writeJSON(path, t)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode %s: %w", filepath.Base(path), err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cannot create directory for %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

func jsonTo(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("cannot encode json: %w", err)
	}
	return nil
}
