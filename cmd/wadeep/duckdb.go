package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/harness"
)

// isDuckDB reports whether an output path names a DuckDB database, which
// the harness writes rather than a sink.
func isDuckDB(path string) bool { return strings.EqualFold(filepath.Ext(path), ".duckdb") }

// dbSet opens each DuckDB file once per command: --out and --cache may
// name the same file, and DuckDB lets one handle write it.
type dbSet struct{ open map[string]*harness.DB }

func (s *dbSet) get(flag, path string) (*harness.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, usagef("%s %s: %v", flag, path, err)
	}
	if d, ok := s.open[abs]; ok {
		return d, nil
	}
	dir := filepath.Dir(abs)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, usagef("%s: %s: directory %s does not exist", flag, path, filepath.Dir(path))
	}
	d, err := harness.Open(path)
	if err != nil {
		return nil, usageError{fmt.Sprintf("%s: %v", flag, err)}
	}
	if s.open == nil {
		s.open = map[string]*harness.DB{}
	}
	s.open[abs] = d
	return d, nil
}

func (s *dbSet) close() error {
	var errs []error
	for _, d := range s.open {
		errs = append(errs, d.Close())
	}
	s.open = nil
	return errors.Join(errs...)
}

// parseMaxAge reads --max-age (see parseAge).
func parseMaxAge(s string) (time.Duration, error) { return parseAge("--max-age", s) }

// parseAge reads the value of flag, a duration that may start with whole
// days ("30d", "1d12h"); the rest is time.ParseDuration's.
func parseAge(flag, s string) (time.Duration, error) {
	var days time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, fmt.Errorf("%s %q: want a duration like 30d, 12h or 1d12h", flag, s)
		}
		days, rest = time.Duration(n)*24*time.Hour, s[i+1:]
	}
	var d time.Duration
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, fmt.Errorf("%s %q: want a duration like 30d, 12h or 1d12h", flag, s)
		}
	}
	if days+d <= 0 {
		return 0, fmt.Errorf("%s %q: want a positive duration", flag, s)
	}
	return days + d, nil
}

// fromCache reports whether a batch came from the cache (every batch of a
// job with a cache is all cache or all upstream).
func fromCache(rec arrow.RecordBatch) bool {
	idx := rec.Schema().FieldIndices(connector.ColSource)
	if len(idx) != 1 || rec.NumRows() == 0 {
		return false
	}
	d, ok := rec.Column(idx[0]).(*array.Dictionary)
	if !ok {
		return false
	}
	s, ok := d.Dictionary().(*array.String)
	return ok && s.Value(d.GetValueIndex(0)) == connector.SourceCache
}

// writeBack merges a job's upstream profiles into the cache database, one
// transaction per chunk; profiles that came from the cache are there.
type writeBack struct{ w *harness.ProfileWriter }

func (b *writeBack) write(rec arrow.RecordBatch) error {
	if fromCache(rec) {
		return nil
	}
	return b.w.Write(rec)
}

func taskRow(c connector.ChunkDone) harness.Task {
	return harness.Task{ID: c.TaskID, Chunk: c.Index + 1, Status: "exported", Numbers: c.Numbers, Profiles: int(c.Profiles), Failed: int(c.Failed),
		CreatedAt: c.CreatedAt, ExportedAt: c.ExportedAt, Resumed: c.Resumed, Creates: c.Creates, StatusCalls: c.Statuses}
}

// writeDBRejects replaces, in the database's rejects table, the rejects of
// this run's input files with the plan's.
func writeDBRejects(ctx context.Context, d *harness.DB, plan *connector.Plan) error {
	r := plan.RejectRecords(nil)
	defer r.Release()
	files := make([]string, 0, len(plan.Inputs))
	for _, in := range plan.Inputs {
		files = append(files, in.Name)
	}
	w, err := d.NewTableWriter(ctx, harness.TableRejects, r.Schema(), files...)
	if err != nil {
		return err
	}
	for r.Next() {
		if err := w.Write(r.RecordBatch()); err != nil {
			return errors.Join(err, w.Abort())
		}
	}
	return w.Close()
}
