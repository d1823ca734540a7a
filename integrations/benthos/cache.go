package wadeepbenthos

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/harness"
)

// profileCache is the processor's --cache: a DuckDB file of profiles that
// serves fresh numbers and takes every batch's new results. Batches run at
// once and a DuckDB connection is not for concurrent use: every use holds
// the lock, and a batch's cached profiles are read whole (a batch is small).
type profileCache struct {
	mu     sync.Mutex
	db     *harness.DB
	maxAge time.Duration
}

func openCache(ctx context.Context, path string, maxAge time.Duration, keyID string) (*profileCache, error) {
	if maxAge <= 0 {
		return nil, fmt.Errorf("wadeep: max_age %s: want a positive duration", maxAge)
	}
	db, err := harness.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wadeep: cache: %w", err)
	}
	if err := db.UseNumbers(ctx, keyID); err != nil {
		db.Close()
		return nil, fmt.Errorf("wadeep: cache: %w", err)
	}
	return &profileCache{db: db, maxAge: maxAge}, nil
}

// use moves the plan's fresh numbers out of its chunks (Plan.UseCache).
func (c *profileCache) use(ctx context.Context, plan *connector.Plan) (connector.CacheUse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return plan.UseCache(ctx, c, c.maxAge, time.Now())
}

// Fresh is the database's, under the lock UseCache's caller holds.
func (c *profileCache) Fresh(ctx context.Context, numbers []string, since time.Time) ([]bool, error) {
	return c.db.Fresh(ctx, numbers, since)
}

// Profiles reads the profiles whole under the lock and serves them from
// memory, so that the job's reading does not share the connection.
func (c *profileCache) Profiles(ctx context.Context, numbers []string) (array.RecordReader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, err := c.db.Profiles(ctx, numbers)
	if err != nil {
		return nil, err
	}
	defer r.Release()
	var recs []arrow.RecordBatch
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	for r.Next() {
		rec := r.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return array.NewRecordReader(r.Schema(), recs)
}

// backlog is one batch's new results, kept for the cache until the job is
// done: chunk by chunk, its batches and then its tasks row.
type backlog struct {
	schema *arrow.Schema
	recs   [][]arrow.RecordBatch
	tasks  []harness.Task
}

func (b *backlog) add(rec arrow.RecordBatch) {
	if len(b.recs) == len(b.tasks) {
		b.recs = append(b.recs, nil)
	}
	rec.Retain()
	b.recs[len(b.recs)-1] = append(b.recs[len(b.recs)-1], rec)
}

func (b *backlog) chunkDone(c connector.ChunkDone) {
	if len(b.recs) == len(b.tasks) {
		b.recs = append(b.recs, nil)
	}
	b.tasks = append(b.tasks, harness.Task{ID: c.TaskID, Chunk: c.Index + 1, Status: "exported", Numbers: c.Numbers,
		Profiles: int(c.Profiles), Failed: int(c.Failed), CreatedAt: c.CreatedAt, ExportedAt: c.ExportedAt,
		Resumed: c.Resumed, Creates: c.Creates, StatusCalls: c.Statuses})
}

func (b *backlog) release() {
	for _, recs := range b.recs {
		for _, rec := range recs {
			rec.Release()
		}
	}
	b.recs = nil
}

// merge writes a finished batch's new results into the cache, one
// transaction per chunk.
func (c *profileCache) merge(ctx context.Context, b *backlog) error {
	if len(b.tasks) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	w, err := c.db.NewProfileWriter(ctx, b.schema)
	if err != nil {
		return fmt.Errorf("wadeep: cache: %w", err)
	}
	defer w.Abort() // after Close, a no-op
	for i, task := range b.tasks {
		if i < len(b.recs) {
			for _, rec := range b.recs[i] {
				if err := w.Write(rec); err != nil {
					return fmt.Errorf("wadeep: cache: %w", err)
				}
			}
		}
		if err := w.EndChunk(task); err != nil {
			return fmt.Errorf("wadeep: cache: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("wadeep: cache: %w", err)
	}
	return nil
}

func (c *profileCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.db.Close()
}
