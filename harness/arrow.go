//go:build duckdb_arrow && cgo

package harness

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"
)

// RegisterView makes r queryable as the view name on the database's
// connection until release is called (duckdb-go's Arrow interface, built
// only with -tags=duckdb_arrow). The view reads r once: query it once.
func (d *DB) RegisterView(r array.RecordReader, name string) (release func(), err error) {
	err = d.raw(func(c driver.Conn) error {
		a, err := duckdb.NewArrowFromConn(c)
		if err != nil {
			return err
		}
		release, err = a.RegisterView(r, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("harness: %s: view %s: %w", d.path, name, err)
	}
	return release, nil
}

// QueryArrow runs query and returns its result as Arrow batches (built
// only with -tags=duckdb_arrow). The caller releases the reader, before
// the next statement on the DB.
func (d *DB) QueryArrow(ctx context.Context, query string, args ...any) (array.RecordReader, error) {
	var r array.RecordReader
	err := d.raw(func(c driver.Conn) error {
		a, err := duckdb.NewArrowFromConn(c)
		if err != nil {
			return err
		}
		r, err = a.QueryContext(ctx, query, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("harness: %s: %w", d.path, err)
	}
	return r, nil
}
