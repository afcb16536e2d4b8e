package flowlog

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/flowhunt/flowhunt/internal/inflate/inflatetest"
)

// v5Layout is the 29 fields of versions 2 to 5, in documentation order.
var v5Layout = NewLayout(AllFields()[:TrafficPath+1]...)

// syntheticText returns an S3 text object of about size bytes in layout l,
// with realistic values: private and public addresses, ephemeral ports,
// NODATA records and '-' fields.
func syntheticText(l Layout, size int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	b := []byte(l.Header() + "\n")
	var r Record
	for len(b) < size {
		r.Reset()
		r.SetInt(Version, int64(l.Version()))
		r.SetStr(AccountID, "123456789012")
		r.SetStr(InterfaceID, fmt.Sprintf("eni-%017x", rng.IntN(64)))
		start := int64(1762000000 + rng.IntN(86400))
		r.SetInt(Start, start)
		r.SetInt(End, start+int64(rng.IntN(60)))
		if rng.IntN(50) == 0 {
			r.SetStr(LogStatus, "NODATA")
		} else {
			r.SetStr(SrcAddr, fmt.Sprintf("10.0.%d.%d", rng.IntN(256), rng.IntN(256)))
			r.SetStr(DstAddr, fmt.Sprintf("%d.%d.%d.%d", 1+rng.IntN(223), rng.IntN(256), rng.IntN(256), rng.IntN(256)))
			r.SetInt(SrcPort, int64(32768+rng.IntN(28000)))
			r.SetInt(DstPort, []int64{443, 80, 22, 53, 3389}[rng.IntN(5)])
			r.SetInt(Protocol, 6)
			r.SetInt(Packets, int64(1+rng.IntN(1000)))
			r.SetInt(Bytes, int64(40+rng.IntN(1500000)))
			r.SetStr(Action, []string{"ACCEPT", "REJECT"}[rng.IntN(2)])
			r.SetStr(LogStatus, "OK")
			r.SetStr(VPCID, "vpc-0abcdef0123456789")
			r.SetStr(SubnetID, "subnet-0abcdef012345678")
			r.SetStr(InstanceID, "i-0abcdef0123456789")
			r.SetInt(TCPFlags, []int64{2, 18, 19, 3, 0}[rng.IntN(5)])
			r.SetStr(Type, "IPv4")
			r.SetStr(PktSrcAddr, r.StrOr(SrcAddr, ""))
			r.SetStr(PktDstAddr, r.StrOr(DstAddr, ""))
			r.SetStr(Region, "us-east-1")
			r.SetStr(AZID, "use1-az1")
			r.SetStr(FlowDirection, "egress")
			r.SetInt(TrafficPath, 8)
		}
		b = append(r.AppendText(b, l), '\n')
	}
	return b
}

// benchmarkDecode decodes data over and over; textBytes is the size of the
// records as S3 text, so that MB/s compare across formats.
func benchmarkDecode(b *testing.B, data []byte, textBytes int, opts DecodeOptions) {
	b.SetBytes(int64(textBytes))
	b.ReportAllocs()
	var records int64
	emit := func(*Batch) error { return nil }
	rd := bytes.NewReader(data)
	var cpu time.Duration
	for b.Loop() {
		if cpu == 0 {
			cpu = cpuTime()
		}
		rd.Reset(data)
		st, err := Decode(context.Background(), rd, opts, emit, nil)
		if err != nil {
			b.Fatal(err)
		}
		records += st.Records
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records), "ns/record")
	if used := cpuTime() - cpu; cpu > 0 && used > 0 {
		// Per CPU-second: what one core does, whatever else runs.
		b.ReportMetric(float64(records)/used.Seconds(), "records/cpu-s")
		b.ReportMetric(float64(b.N)*float64(textBytes)/1e6/used.Seconds(), "MB/cpu-s")
	}
}

func BenchmarkDecodeTextDefault(b *testing.B) {
	text := syntheticText(DefaultLayout, 8<<20)
	benchmarkDecode(b, text, len(text), DecodeOptions{Object: "bench"})
}

func BenchmarkDecodeTextV5(b *testing.B) {
	text := syntheticText(v5Layout, 8<<20)
	benchmarkDecode(b, text, len(text), DecodeOptions{Object: "bench"})
}

func BenchmarkDecodeGzipDefault(b *testing.B) {
	text := syntheticText(DefaultLayout, 8<<20)
	benchmarkDecode(b, gzipBytes(text), len(text), DecodeOptions{Object: "bench"})
}

func gzipBytes(p []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(p)
	zw.Close()
	return buf.Bytes()
}

// BenchmarkGunzip compares the standard library's decompressor with
// klauspost/compress (Decode's streaming path) and libdeflate (its
// whole-object path, when the system has it). SetBytes counts decompressed
// bytes.
func BenchmarkGunzip(b *testing.B) {
	plain := syntheticText(DefaultLayout, 8<<20)
	comp := gzipBytes(plain)
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		b.ReportAllocs()
		cpu := cpuTime()
		defer reportCPU(b, cpu, len(plain))
		for b.Loop() {
			zr, err := gzip.NewReader(bytes.NewReader(comp))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, zr); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("klauspost", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		b.ReportAllocs()
		cpu := cpuTime()
		defer reportCPU(b, cpu, len(plain))
		for b.Loop() {
			zr, err := kgzip.NewReader(bytes.NewReader(comp))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, zr); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("libdeflate", func(b *testing.B) {
		z := inflatetest.Require(b)
		b.SetBytes(int64(len(plain)))
		b.ReportAllocs()
		cpu := cpuTime()
		defer reportCPU(b, cpu, len(plain))
		var out []byte
		for b.Loop() {
			var err error
			if out, err = z.Gunzip(out, comp, 1<<30); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodeGzipParallel decodes many gzip objects at once, one per
// goroutine, as ingestion does: throughput scales with the cores.
func BenchmarkDecodeGzipParallel(b *testing.B) {
	comp := gzipBytes(syntheticText(DefaultLayout, 4<<20))
	b.SetBytes(4 << 20)
	b.ReportAllocs()
	emit := func(*Batch) error { return nil }
	b.ResetTimer()
	cpu := cpuTime()
	defer reportCPU(b, cpu, 4<<20)
	b.RunParallel(func(pb *testing.PB) {
		rd := bytes.NewReader(comp)
		for pb.Next() {
			rd.Reset(comp)
			if _, err := Decode(context.Background(), rd, DecodeOptions{Object: "bench"}, emit, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchmarkEncoded decodes the default-format synthetic records encoded as
// the named delivery format. SetBytes counts the record text, so MB/s
// compare with the text benchmarks.
func benchmarkEncoded(b *testing.B, name string) {
	text := syntheticText(DefaultLayout, 4<<20)
	recs, _, _, err := decodeAll(b, text, DecodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	data := encodingByName(name)(b, DefaultLayout, recs)
	b.ResetTimer()
	benchmarkDecode(b, data, len(text), DecodeOptions{Object: "bench", Layout: DefaultLayout})
}

func BenchmarkDecodeCloudWatchExport(b *testing.B) { benchmarkEncoded(b, "cloudwatch-export") }
func BenchmarkDecodeFirehose(b *testing.B)         { benchmarkEncoded(b, "firehose") }
func BenchmarkDecodeParquet(b *testing.B)          { benchmarkEncoded(b, "parquet") }

// reportCPU reports MB of text per CPU-second since cpu0: what one core
// does, steady whatever else runs on a shared machine.
func reportCPU(b *testing.B, cpu0 time.Duration, bytesPerOp int) {
	if used := cpuTime() - cpu0; cpu0 > 0 && used > 0 {
		b.ReportMetric(float64(b.N)*float64(bytesPerOp)/1e6/used.Seconds(), "MB/cpu-s")
	}
}
func BenchmarkDecodeCloudWatchSubscription(b *testing.B) {
	benchmarkEncoded(b, "cloudwatch-subscription")
}
