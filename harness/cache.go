//go:build cgo

package harness

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/connector"
)

var _ connector.Cache = (*DB)(nil)

const lookupTable = "wadeep_lookup"

// cacheBatch is how many profiles one batch of Profiles holds.
const cacheBatch = 64 << 10

// load fills the temporary lookup table with numbers and their positions,
// through the Appender: one bulk load instead of a query per number.
func (d *DB) load(ctx context.Context, numbers []string) error {
	if err := d.exec(ctx, "CREATE OR REPLACE TEMP TABLE "+lookupTable+" (i INTEGER, number VARCHAR)"); err != nil {
		return err
	}
	return d.raw(func(c driver.Conn) error {
		app, err := duckdb.NewAppender(c, "temp", "main", lookupTable)
		if err != nil {
			return fmt.Errorf("harness: %s: %w", d.path, err)
		}
		for i, n := range numbers {
			if err := app.AppendRow(int32(i), n); err != nil {
				app.Close()
				return fmt.Errorf("harness: %s: %w", d.path, err)
			}
		}
		if err := app.Close(); err != nil {
			return fmt.Errorf("harness: %s: %w", d.path, err)
		}
		return nil
	})
}

// Fresh reports which numbers have a profile checked at or after since
// that did not fail (connector.Cache).
func (d *DB) Fresh(ctx context.Context, numbers []string, since time.Time) ([]bool, error) {
	fresh := make([]bool, len(numbers))
	if len(numbers) == 0 {
		return fresh, nil
	}
	if err := d.load(ctx, numbers); err != nil {
		return nil, err
	}
	defer d.exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS temp.main."+lookupTable)
	rows, err := d.c.QueryContext(ctx, `SELECT l.i FROM temp.main.`+lookupTable+` l JOIN profiles p ON p.number = l.number
WHERE p.status = 'checked' AND p.checked_at >= ?`, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("harness: %s: %w", d.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int32
		if err := rows.Scan(&i); err != nil {
			return nil, fmt.Errorf("harness: %s: %w", d.path, err)
		}
		fresh[i] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("harness: %s: %w", d.path, err)
	}
	return fresh, nil
}

// Profiles streams the profiles held for numbers, in their order, as
// batches of the profile schema (connector.Cache). Each batch is read by a
// query of its own, so no result stays open on the connection between two
// calls of Next. A number with no profile is skipped. A number with more
// than one row (wadeep writes one, but a file may have been edited or
// merged) gives one profile: its latest checked row, the one Fresh
// counted, or else its latest row.
func (d *DB) Profiles(ctx context.Context, numbers []string) (array.RecordReader, error) {
	if err := d.load(ctx, numbers); err != nil {
		return nil, err
	}
	return &profileReader{d: d, ctx: ctx, numbers: len(numbers), schema: arrowconv.Schema(), mem: memory.DefaultAllocator, refs: 1}, nil
}

// profileReader is the array.RecordReader Profiles returns.
type profileReader struct {
	d       *DB
	ctx     context.Context
	numbers int
	next    int
	schema  *arrow.Schema
	mem     memory.Allocator
	cur     arrow.RecordBatch
	err     error
	refs    int
}

var _ array.RecordReader = (*profileReader)(nil)

func (r *profileReader) Schema() *arrow.Schema { return r.schema }
func (r *profileReader) Err() error            { return r.err }
func (r *profileReader) Retain()               { r.refs++ }

func (r *profileReader) Release() {
	if r.refs--; r.refs == 0 {
		if r.cur != nil {
			r.cur.Release()
			r.cur = nil
		}
		r.d.exec(context.WithoutCancel(r.ctx), "DROP TABLE IF EXISTS temp.main."+lookupTable)
	}
}

// Record is RecordBatch, for older callers.
func (r *profileReader) Record() arrow.RecordBatch { return r.cur }

func (r *profileReader) RecordBatch() arrow.RecordBatch { return r.cur }

func (r *profileReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for r.err == nil && r.next < r.numbers {
		lo, hi := r.next, min(r.next+cacheBatch, r.numbers)
		r.next = hi
		rec, err := r.read(lo, hi)
		if err != nil {
			r.err = err
			return false
		}
		if rec.NumRows() > 0 {
			r.cur = rec
			return true
		}
		rec.Release()
	}
	return false
}

func (r *profileReader) read(lo, hi int) (arrow.RecordBatch, error) {
	rows, err := r.d.c.QueryContext(r.ctx, `SELECT p.number, p.country, p.status, p.whatsapp, p.avatar, p.category, p.gender,
p.age_min, p.age_max, p.hair_color, p.task_id, p.checked_at
FROM temp.main.`+lookupTable+` l JOIN profiles p ON p.number = l.number
WHERE l.i >= ? AND l.i < ?
QUALIFY row_number() OVER (PARTITION BY l.i ORDER BY p.status = 'checked' DESC, p.checked_at DESC NULLS LAST, p.rowid DESC) = 1
ORDER BY l.i`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("harness: %s: %w", r.d.path, err)
	}
	defer rows.Close()
	b := array.NewRecordBuilder(r.mem, r.schema)
	defer b.Release()
	var (
		number, status                                  string
		country, avatar, category, gender, hair, taskID sql.NullString
		whatsapp                                        sql.NullBool
		ageMin, ageMax                                  sql.NullInt16
		checkedAt                                       sql.NullTime
	)
	str := func(i int, v sql.NullString) {
		if !v.Valid {
			b.Field(i).AppendNull()
			return
		}
		switch fb := b.Field(i).(type) {
		case *array.StringBuilder:
			fb.Append(v.String)
		case *array.BinaryDictionaryBuilder:
			fb.AppendString(v.String)
		}
	}
	for rows.Next() {
		if err := rows.Scan(&number, &country, &status, &whatsapp, &avatar, &category, &gender, &ageMin, &ageMax, &hair, &taskID, &checkedAt); err != nil {
			return nil, fmt.Errorf("harness: %s: %w", r.d.path, err)
		}
		b.Field(0).(*array.StringBuilder).Append(number)
		str(1, country)
		str(2, sql.NullString{String: status, Valid: true})
		if whatsapp.Valid {
			b.Field(3).(*array.BooleanBuilder).Append(whatsapp.Bool)
		} else {
			b.Field(3).AppendNull()
		}
		str(4, avatar)
		str(5, category)
		str(6, gender)
		for k, a := range []sql.NullInt16{ageMin, ageMax} {
			if a.Valid {
				b.Field(7 + k).(*array.Int16Builder).Append(a.Int16)
			} else {
				b.Field(7 + k).AppendNull()
			}
		}
		str(9, hair)
		str(10, taskID)
		if checkedAt.Valid {
			b.Field(11).(*array.TimestampBuilder).Append(arrow.Timestamp(checkedAt.Time.UnixMilli()))
		} else {
			b.Field(11).AppendNull()
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("harness: %s: %w", r.d.path, err)
	}
	return b.NewRecordBatch(), nil
}
