package local

import (
	"context"
	"errors"
	"fmt"

	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/server"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store"
)

// ingestObjectBackend stores one Firehose object in a Config.Backend store
// (a ClickHouse cluster). Each request is its own ingest run, one at a
// time: the store's ledger makes a retried request "unchanged", which is
// how a duplicate is told apart here. There is no group commit as on the
// embedded store, so this path takes fewer requests per second.
func (b *Backend) ingestObjectBackend(ctx context.Context, obj server.Object) (server.IngestResult, error) {
	b.group.run.Lock()
	defer b.group.run.Unlock()
	src := &memSource{keys: []string{obj.Key}, objs: map[string][]byte{obj.Key: obj.Body}}
	sum, err := b.be.IngestSources(ctx, []source.Source{src}, store.IngestOptions{Format: flowlog.FormatText, Layout: b.cfg.Layout, Workers: 1})
	var res server.IngestResult
	if bad := append(sum.Failed, sum.Damaged...); len(bad) > 0 {
		return res, fmt.Errorf("cannot store object %s: %s", bad[0].Object, bad[0].Error)
	}
	if err != nil && !errors.Is(err, store.ErrObjectsFailed) {
		return res, err
	}
	if sum.Unchanged > 0 {
		res.Duplicate = true
		return res, nil
	}
	res.Records, res.Rejects = sum.Records, sum.Rejects
	return res, nil
}
