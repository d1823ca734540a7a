package connector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/wadeep/wadeep/arrowconv"
)

// Cache holds profiles checked earlier, so that a job pays only for the
// numbers it holds no fresh profile of. harness.DB implements it over a
// DuckDB file; a plugin's or a pipeline's configuration can name any other.
type Cache interface {
	// Fresh reports, for each of numbers, whether the cache holds a profile
	// of it checked at or after since whose status is not failed (a failed
	// number is checked again). It is called once per plan with every
	// distinct number, so an implementation looks them up in bulk.
	Fresh(ctx context.Context, numbers []string, since time.Time) ([]bool, error)
	// Profiles streams the profiles of numbers (numbers Fresh reported), in
	// their order, as batches with the profile schema's columns (more
	// columns are left out, missing ones are null). The caller releases the
	// reader.
	Profiles(ctx context.Context, numbers []string) (array.RecordReader, error)
}

// Values of the source column a job with a cache adds (see Job.Cache).
const (
	ColSource      = "source"
	SourceCache    = "cache"
	SourceUpstream = "upstream"
)

// CacheUse is what a cache spared a plan.
type CacheUse struct {
	Numbers int // distinct numbers served from the cache, not uploaded
	// Tasks is how many fewer upload chunks, hence tasks, the plan has, and
	// Calls the least charged calls that saves: one creation and one status
	// call per task.
	Tasks int
	Calls int64
}

// UseCache moves the numbers the cache holds fresh profiles of (checked
// within maxAge before now, not failed) out of the plan's upload chunks, and
// cuts the rest into chunks again. The numbers stay in Numbers (and in the
// output: a Job with the cache as its Cache writes their profiles with
// source = cache); Cached lists them. Call it once, before OpenJournal: the
// chunks name the job.
func (p *Plan) UseCache(ctx context.Context, c Cache, maxAge time.Duration, now time.Time) (CacheUse, error) {
	if p.Cached != nil {
		return CacheUse{}, errors.New("connector: the plan uses a cache already")
	}
	if maxAge <= 0 {
		return CacheUse{}, fmt.Errorf("connector: cache max age %s: want a positive duration", maxAge)
	}
	fresh, err := c.Fresh(ctx, p.cacheKeys(p.Numbers), now.Add(-maxAge))
	if err != nil {
		return CacheUse{}, err
	}
	if len(fresh) != len(p.Numbers) {
		return CacheUse{}, fmt.Errorf("connector: cache answered %d numbers for %d", len(fresh), len(p.Numbers))
	}
	before := len(p.Chunks)
	p.Cached = Numbers{}
	upload := make([]int, 0, len(p.Numbers))
	for i, ok := range fresh {
		if ok {
			p.Cached = append(p.Cached, p.Numbers[i])
		} else {
			upload = append(upload, i)
		}
	}
	if len(p.Cached) == 0 {
		return CacheUse{}, nil
	}
	size := p.Options.ChunkSize
	p.Chunks = p.Chunks[:0]
	for i := 0; i < len(upload); i += size {
		idx := upload[i:min(i+size, len(upload))]
		nums := make(Numbers, len(idx))
		for k, n := range idx {
			nums[k] = p.Numbers[n]
		}
		c := Chunk{Index: len(p.Chunks), Numbers: nums, First: idx[0]}
		sum := sha256.Sum256(c.Body())
		c.Hash = hex.EncodeToString(sum[:])
		p.Chunks = append(p.Chunks, c)
	}
	saved := before - len(p.Chunks)
	return CacheUse{Numbers: len(p.Cached), Tasks: saved, Calls: 2 * int64(saved)}, nil
}

// sourceSchema is schema with the source column added last.
func sourceSchema(schema *arrow.Schema) *arrow.Schema {
	fields := append(schema.Fields(), arrow.Field{Name: ColSource, Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}})
	return arrow.NewSchema(fields, nil)
}

// withSource conforms rec to schema (whose last column is source) and sets
// every row's source to value. The caller releases the result.
func withSource(mem memory.Allocator, rec arrow.RecordBatch, schema *arrow.Schema, value string) (arrow.RecordBatch, []string, error) {
	inner := arrow.NewSchema(schema.Fields()[:schema.NumFields()-1], nil)
	out, dropped, err := arrowconv.Conform(mem, rec, inner)
	if err != nil {
		return nil, nil, err
	}
	defer out.Release()
	b := array.NewDictionaryBuilder(mem, schema.Field(schema.NumFields()-1).Type.(*arrow.DictionaryType)).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	for i := int64(0); i < out.NumRows(); i++ {
		if err := b.AppendString(value); err != nil {
			return nil, nil, err
		}
	}
	src := b.NewArray()
	defer src.Release()
	cols := append(append([]arrow.Array{}, out.Columns()...), src)
	return array.NewRecordBatch(schema, cols, out.NumRows()), dropped, nil
}

// serveCached writes the profiles of the plan's cached numbers to Out.
func (j *Job) serveCached(ctx context.Context, schema *arrow.Schema) (rows int64, err error) {
	if len(j.Plan.Cached) == 0 {
		return 0, nil
	}
	r, err := j.Cache.Profiles(ctx, j.Plan.cacheKeys(j.Plan.Cached))
	if err != nil {
		return 0, fmt.Errorf("connector: reading the cache: %w", err)
	}
	defer r.Release()
	for r.Next() {
		out, _, err := withSource(j.mem(), r.RecordBatch(), schema, SourceCache)
		if err != nil {
			return rows, fmt.Errorf("connector: reading the cache: %w", err)
		}
		rows += out.NumRows()
		err = j.Out(out)
		out.Release()
		if err != nil {
			return rows, err
		}
	}
	if err := r.Err(); err != nil {
		return rows, fmt.Errorf("connector: reading the cache: %w", err)
	}
	if rows != int64(len(j.Plan.Cached)) {
		return rows, fmt.Errorf("connector: the cache served %d profiles for %d fresh numbers (did it change meanwhile?); rerun", rows, len(j.Plan.Cached))
	}
	return rows, nil
}

// conform fits a result batch to the job's schema: with a Cache, its
// source is upstream; the plan's privacy policy is applied. dropped names
// the result's columns left out that the policy did not ask to drop.
func (j *Job) conform(rec arrow.RecordBatch, schema *arrow.Schema) (out arrow.RecordBatch, dropped []string, err error) {
	if j.Cache != nil {
		out, dropped, err = withSource(j.mem(), rec, schema, SourceUpstream)
	} else {
		out, dropped, err = arrowconv.Conform(j.mem(), rec, schema)
	}
	pol := j.Plan.Options.Privacy
	if err != nil || pol.IsZero() {
		return out, dropped, err
	}
	dropped = slices.DeleteFunc(dropped, func(name string) bool { return slices.Contains(pol.Drop, name) })
	if pol.Pseudonymizer == nil {
		return out, dropped, nil
	}
	defer out.Release()
	private, err := pol.Apply(j.mem(), out, schema, arrowconv.ColNumber)
	return private, dropped, err
}
