package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Object is one delivered object: a file or an S3 object.
type Object struct {
	Key     string    // what names the object in the store: a clean absolute path or s3://bucket/key
	Size    int64     // bytes
	ETag    string    // S3 ETag (quotes removed); empty for files
	ModTime time.Time // file mtime or S3 LastModified
}

// Version identifies the content of an object: the same key with another
// version has changed and must be ingested again.
func (o Object) Version() string {
	if o.ETag != "" {
		return fmt.Sprintf("%d:%s", o.Size, o.ETag)
	}
	return fmt.Sprintf("%d:%d", o.Size, o.ModTime.UnixNano())
}

// Source is a place objects are listed and read from.
type Source interface {
	// List returns the objects whose keys may hold records of the
	// configured time range, in key order.
	List(ctx context.Context) ([]Object, error)
	// Open returns the raw bytes of an object (still compressed).
	Open(ctx context.Context, o Object) (io.ReadCloser, error)
	// String names the source as the user gave it.
	String() string
}

// Config tells Open how to reach sources.
type Config struct {
	Range     TimeRange // objects outside it are not listed (from their keys alone)
	Region    string    // S3 region; the SDK's default chain when empty
	Endpoint  string    // S3-compatible endpoint URL; AWS when empty
	PathStyle bool      // path-style S3 addressing (most S3-compatible stores)
	// Credentials overrides the SDK's default credential chain (tests).
	Credentials aws.CredentialsProvider
	// Extensions lists the file name endings a directory walk keeps; default
	// .log, .log.gz, .gz, .json, .json.gz, .parquet, .txt.
	Extensions []string
}

var defaultExtensions = []string{".log", ".gz", ".json", ".parquet", ".txt", ".jsonl"}

// ErrNoObjects is returned by Open for a local path that does not exist.
var ErrNoObjects = errors.New("no such file or directory")

// Open returns the source named by uri: s3://bucket[/prefix], a file, or a
// directory (walked recursively).
func Open(ctx context.Context, uri string, cfg Config) (Source, error) {
	if strings.HasPrefix(uri, "s3://") {
		return openS3(ctx, uri, cfg)
	}
	p, err := filepath.Abs(uri)
	if err != nil {
		return nil, fmt.Errorf("cannot open source %q: %w", uri, err)
	}
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cannot open source %q: %w", uri, ErrNoObjects)
		}
		return nil, fmt.Errorf("cannot open source %q: %w", uri, err)
	}
	ext := cfg.Extensions
	if ext == nil {
		ext = defaultExtensions
	}
	return &Local{root: p, name: uri, dir: st.IsDir(), rng: cfg.Range, ext: ext}, nil
}

// Local is a file or a directory tree.
type Local struct {
	root, name string
	dir        bool
	rng        TimeRange
	ext        []string
}

func (l *Local) String() string { return l.name }

// List walks the tree, skipping folders and files whose names fall outside
// the time range.
func (l *Local) List(ctx context.Context) ([]Object, error) {
	var out []Object
	add := func(p string, info fs.FileInfo) {
		out = append(out, Object{Key: p, Size: info.Size(), ModTime: info.ModTime()})
	}
	if !l.dir {
		info, err := os.Stat(l.root)
		if err != nil {
			return nil, fmt.Errorf("cannot list source %q: %w", l.name, err)
		}
		add(l.root, info)
		return out, nil
	}
	err := filepath.WalkDir(l.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, l.root))
		if d.IsDir() {
			if p != l.root && (strings.HasPrefix(d.Name(), ".") || !l.rng.Match(rel+"/")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") || !l.keep(d.Name()) || !l.rng.Match(rel) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		add(p, info)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list source %q: %w", l.name, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (l *Local) keep(name string) bool {
	for _, e := range l.ext {
		if strings.HasSuffix(name, e) {
			return true
		}
	}
	return false
}

// Open opens the file.
func (l *Local) Open(ctx context.Context, o Object) (io.ReadCloser, error) {
	f, err := os.Open(o.Key)
	if err != nil {
		return nil, fmt.Errorf("cannot open object %q: %w", o.Key, err)
	}
	return f, nil
}
