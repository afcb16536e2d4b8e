// Package s3fake starts an S3-compatible server inside a test process
// (gofakes3 over httptest), so tests run the real AWS SDK end to end.
package s3fake

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a running S3-compatible server with one bucket.
type Server struct {
	URL         string // endpoint, for path-style addressing
	Bucket      string
	Credentials aws.CredentialsProvider
	client      *s3.Client
}

// Start serves an empty bucket until the test ends.
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	backend := s3mem.New()
	faker := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog()), gofakes3.WithTimeSkewLimit(time.Hour))
	ts := httptest.NewServer(faker.Server())
	t.Cleanup(ts.Close)
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatalf("cannot create bucket %q: %v", bucket, err)
	}
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRETTEST", "")
	client := s3.New(s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(ts.URL),
		UsePathStyle:               true,
		Credentials:                creds,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	return &Server{URL: ts.URL, Bucket: bucket, Credentials: creds, client: client}
}

// Put stores an object through the SDK.
func (s *Server) Put(t testing.TB, key string, data []byte) {
	t.Helper()
	_, err := s.client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: bytes.NewReader(data),
	})
	if err != nil {
		t.Fatalf("cannot put object %q: %v", key, err)
	}
}
