package source

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3 is the objects under s3://bucket/prefix.
type S3 struct {
	client *s3.Client
	bucket string
	prefix string
	name   string
	rng    TimeRange
}

func openS3(ctx context.Context, uri string, cfg Config) (*S3, error) {
	rest := strings.TrimPrefix(uri, "s3://")
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return nil, fmt.Errorf("cannot open source %q: no bucket name", uri)
	}
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(cfg.Credentials))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot open source %q: load AWS configuration (set --region or AWS_REGION, and credentials): %w", uri, err)
	}
	if awsCfg.Region == "" {
		// ListObjectsV2 needs a region to sign; S3-compatible stores accept any.
		awsCfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// S3-compatible stores reject the newer default checksums.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &S3{client: client, bucket: bucket, prefix: prefix, name: uri, rng: cfg.Range}, nil
}

func (s *S3) String() string { return s.name }

// List walks the prefix folder by folder, so that day and hour folders
// outside the time range are never listed.
func (s *S3) List(ctx context.Context) ([]Object, error) {
	var out []Object
	if err := s.walk(ctx, s.prefix, &out); err != nil {
		return nil, fmt.Errorf("cannot list source %q: %w", s.name, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (s *S3) walk(ctx context.Context, prefix string, out *[]Object) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")}
	var dirs []string
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if strings.HasSuffix(key, "/") || !s.rng.Match(key) {
				continue
			}
			obj := Object{Key: "s3://" + s.bucket + "/" + key, Size: aws.ToInt64(o.Size), ETag: strings.Trim(aws.ToString(o.ETag), `"`)}
			if o.LastModified != nil {
				obj.ModTime = *o.LastModified
			}
			*out = append(*out, obj)
		}
		for _, cp := range page.CommonPrefixes {
			d := aws.ToString(cp.Prefix)
			if s.rng.Match(d) {
				dirs = append(dirs, d)
			}
		}
	}
	for _, d := range dirs {
		if err := s.walk(ctx, d, out); err != nil {
			return err
		}
	}
	return nil
}

// Open starts the download of an object.
func (s *S3) Open(ctx context.Context, o Object) (io.ReadCloser, error) {
	key, ok := strings.CutPrefix(o.Key, "s3://"+s.bucket+"/")
	if !ok {
		return nil, fmt.Errorf("BUG: object %q is not in bucket %q", o.Key, s.bucket)
	}
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	if o.ETag != "" {
		// The content must be the version listed: the store records that
		// version as ingested. An object replaced since fails with 412 and
		// is picked up, as changed, by the next run.
		in.IfMatch = aws.String(`"` + o.ETag + `"`)
	}
	res, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("cannot download object %q: %w", o.Key, err)
	}
	// S3-compatible stores that ignore If-Match: check the answer's ETag.
	if got := strings.Trim(aws.ToString(res.ETag), `"`); o.ETag != "" && got != "" && got != o.ETag {
		res.Body.Close()
		return nil, fmt.Errorf("cannot download object %q: it changed since it was listed (ETag %s, listed %s); the next ingest takes the new version", o.Key, got, o.ETag)
	}
	return res.Body, nil
}
