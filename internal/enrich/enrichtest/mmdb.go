// Package enrichtest builds the small MaxMind-format databases that tests of
// enrichment (in enrich and in the stores' ingest) read.
package enrichtest

import (
	"bytes"
	"net"
	"os"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// WriteMMDB writes a database of type dbType to path: network nets[i] gets
// value(i).
func WriteMMDB(t testing.TB, path, dbType string, nets []string, value func(i int) mmdbtype.Map) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range nets {
		_, ipn, err := net.ParseCIDR(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(ipn, value(i)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
