// Package inflatetest gives tests the libdeflate decompressor: under
// CI=true its absence fails the test (scripts/deps.sh installs it), else
// the test is skipped.
package inflatetest

import (
	"os"
	"testing"

	"github.com/flowhunt/flowhunt/internal/inflate"
)

// Require returns a Decompressor freed when the test ends, or fails (under
// CI=true) or skips the test when libdeflate cannot be loaded.
func Require(tb testing.TB) *inflate.Decompressor {
	tb.Helper()
	z := inflate.NewDecompressor()
	if z == nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal("libdeflate.so.0 cannot be loaded; scripts/deps.sh installs Debian's libdeflate0")
		}
		tb.Skip("libdeflate.so.0 is not installed (Debian: libdeflate0)")
	}
	tb.Cleanup(z.Free)
	return z
}
