//go:build cgo

package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// OpenFiles returns an in-memory database in which profiles, rejects,
// tasks and enriched are views over the given outputs of wadeep (Parquet,
// CSV, or Arrow IPC), recognised by their columns: several files of a kind
// are unioned by column name; a kind no file has is an empty table. The
// ready-made views work over them. Parquet and CSV files are read in place
// by DuckDB; Arrow IPC files are loaded into tables through the Appender
// (DuckDB reads Arrow IPC only through an extension it would download).
func OpenFiles(ctx context.Context, paths []string) (*DB, error) {
	d, err := Open("")
	if err != nil {
		return nil, err
	}
	if err := d.attach(ctx, paths); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *DB) attach(ctx context.Context, paths []string) error {
	kinds := map[string][]string{} // kind → relations
	for i, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("harness: --from %s: %w", p, err)
		}
		rel, err := d.relation(ctx, i, p)
		if err != nil {
			return err
		}
		cols, err := d.relColumns(ctx, rel)
		if err != nil {
			return fmt.Errorf("harness: %s: %w", p, err)
		}
		kind := kindOf(cols)
		if kind == "" {
			return fmt.Errorf("harness: %s: not a profiles, rejects, tasks or enriched table of wadeep (columns: %s)", p, strings.Join(cols, ", "))
		}
		kinds[kind] = append(kinds[kind], rel)
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, kind := range names {
		rels := kinds[kind]
		var parts []string
		for _, r := range rels {
			parts = append(parts, "SELECT * FROM "+r)
		}
		if err := d.exec(ctx, "DROP TABLE IF EXISTS "+kind); err != nil {
			return err
		}
		if err := d.exec(ctx, "CREATE VIEW "+kind+" AS "+strings.Join(parts, " UNION ALL BY NAME ")); err != nil {
			return err
		}
	}
	return nil
}

// relation makes file i readable and returns the SQL that reads it.
func (d *DB) relation(ctx context.Context, i int, path string) (string, error) {
	lit := "'" + strings.ReplaceAll(path, "'", "''") + "'"
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet":
		return "read_parquet(" + lit + ")", nil
	case ".csv":
		return "read_csv(" + lit + ", header = true)", nil
	case ".tsv":
		return "read_csv(" + lit + ", header = true, delim = '\t')", nil
	case ".arrow", ".ipc", ".feather":
		name := fmt.Sprintf("wadeep_file_%d", i+1)
		if err := d.loadArrow(ctx, name, path); err != nil {
			return "", err
		}
		return name, nil
	}
	return "", fmt.Errorf("harness: --from %s: want a .parquet, .csv, .tsv or .arrow file", path)
}

// loadArrow loads an Arrow IPC file into table name.
func (d *DB) loadArrow(ctx context.Context, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("harness: %w", err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return fmt.Errorf("harness: %s: not an Arrow IPC file: %w", path, err)
	}
	defer r.Close()
	w, err := d.NewTableWriter(ctx, name, r.Schema())
	if err != nil {
		return fmt.Errorf("harness: %s: %w", path, err)
	}
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		if err == nil {
			err = w.Write(rec)
		}
		if err != nil {
			return errors.Join(fmt.Errorf("harness: %s: %w", path, err), w.Abort())
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("harness: %s: %w", path, err)
	}
	return nil
}

func (d *DB) relColumns(ctx context.Context, rel string) ([]string, error) {
	rows, err := d.c.QueryContext(ctx, "DESCRIBE SELECT * FROM "+rel)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		names = append(names, fmt.Sprint(vals[0]))
	}
	return names, rows.Err()
}

// kindOf names the wadeep table a file's columns make, or "".
func kindOf(cols []string) string {
	has := func(names ...string) bool {
		for _, n := range names {
			if !slices.Contains(cols, n) {
				return false
			}
		}
		return true
	}
	switch {
	case has("input_file", "input_row", "reject_reason"):
		return TableEnriched
	case has("number", "status", "checked_at"):
		return TableProfiles
	case has("file", "row", "value", "reason"):
		return TableRejects
	case has("task_id", "chunk", "status"):
		return TableTasks
	}
	return ""
}
