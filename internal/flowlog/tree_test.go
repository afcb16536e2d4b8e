package flowlog

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeTree decodes every file under $FLOWHUNT_DECODE_DIR (for example
// the formats/ folder `flowhunt generate` writes) with format sniffing and
// prints what each delivery format gave. A file without header uses the
// LogFormat of a "<group>.logformat" file in a folder just under the root,
// <group> being a folder or file name on its path. It fails on any
// rejected line. Run:
//
//	FLOWHUNT_DECODE_DIR=/tmp/gen/formats go test -run TestDecodeTree -v ./internal/flowlog
func TestDecodeTree(t *testing.T) {
	root := os.Getenv("FLOWHUNT_DECODE_DIR")
	if root == "" {
		t.Skip("FLOWHUNT_DECODE_DIR not set")
	}
	type total struct{ files, records, rejects, bytes int64 }
	totals := map[string]*total{}
	var order []string
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasSuffix(path, ".logformat") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		opts := DecodeOptions{Object: path, Layout: treeLayout(t, root, path)}
		_, rejects, st, err := decodeAll(t, data, opts)
		if err != nil {
			return err
		}
		for _, rj := range rejects {
			t.Errorf("%v", rj)
		}
		rel, _ := filepath.Rel(root, path)
		key := strings.Join(strings.SplitN(rel, string(filepath.Separator), 3)[:2], "/")
		if totals[key] == nil {
			totals[key] = &total{}
			order = append(order, key)
		}
		tt := totals[key]
		tt.files++
		tt.records += st.Records
		tt.rejects += st.Rejects
		tt.bytes += int64(len(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%-36s %6s %9s %8s %11s\n", "delivery", "files", "records", "rejects", "bytes")
	for _, k := range order {
		tt := totals[k]
		fmt.Printf("%-36s %6d %9d %8d %11d\n", k, tt.files, tt.records, tt.rejects, tt.bytes)
	}
}

func treeLayout(t *testing.T, root, path string) Layout {
	rel, _ := filepath.Rel(root, path)
	parts := strings.Split(strings.TrimSuffix(filepath.ToSlash(rel), filepath.Ext(rel)), "/")
	for _, p := range parts {
		matches, _ := filepath.Glob(filepath.Join(root, "*", p+".logformat"))
		if len(matches) == 0 {
			continue
		}
		b, err := os.ReadFile(matches[0])
		if err != nil {
			t.Fatal(err)
		}
		l, err := ParseLayout(string(b))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	return Layout{}
}
