package simulate

import (
	"net/netip"
	"strconv"

	"github.com/flowhunt/flowhunt/internal/flowlog"
)

const slotSeconds = 300 // S3 objects hold 5 minutes of records (by end time)

const (
	statusOK uint8 = iota
	statusNoData
	statusSkipData
)

// TCP flags as flow logs report them.
const (
	flagFIN    = 1
	flagSYN    = 2
	flagRST    = 4
	flagSYNACK = 18
)

// record is one flow log record before it is written. The generator keeps
// records in this compact form and formats them straight into the output
// buffer, so the hot loop allocates nothing.
type record struct {
	eni              *ENI
	src, dst         netip.Addr
	pktSrc, pktDst   netip.Addr
	srcSvc, dstSvc   string
	srcPort, dstPort int32
	proto            int32
	flags            int32
	path             int32 // traffic-path; 0 writes "-"
	packets, bytes   int64
	start, end       int64
	status           uint8
	reject           bool
	egress           bool
}

// appendRecord formats r in layout l as AWS writes it in text delivery.
func appendRecord(dst []byte, r *record, l *flowlog.Layout, version int, account, region string) []byte {
	ok := r.status == statusOK
	for i, f := range l.Fields {
		if i > 0 {
			dst = append(dst, ' ')
		}
		switch f {
		case flowlog.Version:
			dst = strconv.AppendInt(dst, int64(version), 10)
		case flowlog.AccountID:
			dst = append(dst, account...)
		case flowlog.InterfaceID:
			dst = append(dst, r.eni.ID...)
		case flowlog.SrcAddr:
			dst = appendAddr(dst, ok, r.src)
		case flowlog.DstAddr:
			dst = appendAddr(dst, ok, r.dst)
		case flowlog.SrcPort:
			dst = appendInt(dst, ok, int64(r.srcPort))
		case flowlog.DstPort:
			dst = appendInt(dst, ok, int64(r.dstPort))
		case flowlog.Protocol:
			dst = appendInt(dst, ok, int64(r.proto))
		case flowlog.Packets:
			dst = appendInt(dst, ok, r.packets)
		case flowlog.Bytes:
			dst = appendInt(dst, ok, r.bytes)
		case flowlog.Start:
			dst = strconv.AppendInt(dst, r.start, 10)
		case flowlog.End:
			dst = strconv.AppendInt(dst, r.end, 10)
		case flowlog.Action:
			switch {
			case !ok:
				dst = append(dst, '-')
			case r.reject:
				dst = append(dst, "REJECT"...)
			default:
				dst = append(dst, "ACCEPT"...)
			}
		case flowlog.LogStatus:
			switch r.status {
			case statusNoData:
				dst = append(dst, "NODATA"...)
			case statusSkipData:
				dst = append(dst, "SKIPDATA"...)
			default:
				dst = append(dst, "OK"...)
			}
		case flowlog.VPCID:
			dst = append(dst, r.eni.VPC.ID...)
		case flowlog.SubnetID:
			dst = append(dst, r.eni.Subnet.ID...)
		case flowlog.InstanceID:
			dst = appendStr(dst, true, r.eni.InstanceID)
		case flowlog.TCPFlags:
			dst = appendInt(dst, ok, int64(r.flags))
		case flowlog.Type:
			typ := "IPv4"
			if r.src.Is6() {
				typ = "IPv6"
			}
			dst = appendStr(dst, ok, typ)
		case flowlog.PktSrcAddr:
			dst = appendAddr(dst, ok, r.pktSrc)
		case flowlog.PktDstAddr:
			dst = appendAddr(dst, ok, r.pktDst)
		case flowlog.Region:
			dst = append(dst, region...)
		case flowlog.AZID:
			dst = append(dst, r.eni.Subnet.AZID...)
		case flowlog.PktSrcAWSService:
			dst = appendStr(dst, ok, r.srcSvc)
		case flowlog.PktDstAWSService:
			dst = appendStr(dst, ok, r.dstSvc)
		case flowlog.FlowDirection:
			switch {
			case !ok:
				dst = append(dst, '-')
			case r.egress:
				dst = append(dst, "egress"...)
			default:
				dst = append(dst, "ingress"...)
			}
		case flowlog.TrafficPath:
			dst = appendInt(dst, ok && r.egress && r.path > 0, int64(r.path))
		default:
			dst = append(dst, '-')
		}
	}
	return dst
}

func appendAddr(dst []byte, ok bool, a netip.Addr) []byte {
	if !ok || !a.IsValid() {
		return append(dst, '-')
	}
	return a.AppendTo(dst)
}

func appendInt(dst []byte, ok bool, v int64) []byte {
	if !ok {
		return append(dst, '-')
	}
	return strconv.AppendInt(dst, v, 10)
}

func appendStr(dst []byte, ok bool, s string) []byte {
	if !ok || s == "" {
		return append(dst, '-')
	}
	return append(dst, s...)
}

// toFlowlog converts r for the encoders of the other delivery formats.
func (r *record) toFlowlog(out *flowlog.Record, l *flowlog.Layout, version int, account, region string) {
	out.Reset()
	// Formatting then parsing each field keeps one definition of the values:
	// appendRecord. This path only serves the short formats slice.
	var buf [32]byte
	for _, f := range l.Fields {
		one := flowlog.NewLayout(f)
		v := appendRecord(buf[:0], r, &one, version, account, region)
		if len(v) == 1 && v[0] == '-' {
			continue
		}
		if f.Kind().IsInt() {
			n, _ := strconv.ParseInt(string(v), 10, 64)
			out.SetInt(f, n)
		} else {
			out.SetStr(f, string(v))
		}
	}
}
