package flowlog_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/flowhunt/flowhunt/internal/flowlog"
)

func ExampleDecode() {
	object := `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 70000 6 20 4249 1418530010 1418530070 REJECT OK
`
	st, err := flowlog.Decode(context.Background(), strings.NewReader(object),
		flowlog.DecodeOptions{Object: "s3://bucket/AWSLogs/example.log"},
		func(b *flowlog.Batch) error {
			for i := 0; i < b.Len; i++ {
				var r flowlog.Record
				b.Record(i, &r)
				fmt.Printf("line %d: srcaddr=%v dstport=%v log-status=%v\n",
					b.Line[i], r.Value(flowlog.SrcAddr), r.Value(flowlog.DstPort), r.Value(flowlog.LogStatus))
			}
			return nil
		},
		func(rj flowlog.Reject) error {
			fmt.Println("rejected:", rj.Error())
			return nil
		})
	fmt.Printf("%+v %v\n", st, err)
	// Output:
	// rejected: cannot decode s3://bucket/AWSLogs/example.log line 4: dstport "70000" is out of range 0..65535
	// line 2: srcaddr=172.31.16.139 dstport=22 log-status=OK
	// line 3: srcaddr=<nil> dstport=<nil> log-status=NODATA
	// {Lines:4 Records:2 Rejects:1 Headers:1 Bytes:427} <nil>
}

func ExampleAppendFirehoseRecord() {
	var r flowlog.Record
	r.SetInt(flowlog.Version, 2)
	r.SetStr(flowlog.AccountID, "123456789010")
	r.SetStr(flowlog.InterfaceID, "eni-1235b8ca123456789")
	r.SetInt(flowlog.Start, 1431280876)
	r.SetInt(flowlog.End, 1431280934)
	r.SetStr(flowlog.LogStatus, "NODATA")
	out := flowlog.AppendFirehoseRecord(nil, &r, flowlog.DefaultLayout)
	out = flowlog.AppendCloudWatchExportEvent(out, &r, flowlog.DefaultLayout, "eni-1235b8ca123456789-all")
	fmt.Print(string(out))
	// Output:
	// {"message":"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"}
	// {"timestamp":1431280876000,"message":"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA","logStreamName":"eni-1235b8ca123456789-all"}
}
