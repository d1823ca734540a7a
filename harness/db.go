//go:build cgo

package harness

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/wadeep/wadeep/arrowconv"
)

// DB is a DuckDB database holding wadeep's tables. It is not safe for
// concurrent use. Close it when done: DuckDB holds a lock on the file while
// it is open, so another process cannot write it meanwhile.
type DB struct {
	path string
	conn *duckdb.Connector
	db   *sql.DB
	c    *sql.Conn
}

// Open opens the database file at path, creating it and wadeep's tables
// and views if needed; "" is a new in-memory database. A file another
// process holds, one that is not a DuckDB database, or one of a schema
// version this package cannot migrate gives an error naming the file.
func Open(path string) (*DB, error) {
	d, err := open(path)
	if err != nil {
		return nil, err
	}
	if err := d.migrate(context.Background()); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func open(path string) (*DB, error) {
	name := path
	if path == "" {
		name = "(in memory)"
	} else if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("harness: %s: is a directory", path)
	}
	conn, err := duckdb.NewConnector(path, nil)
	if err != nil {
		return nil, openError(name, err)
	}
	db := sql.OpenDB(conn)
	c, err := db.Conn(context.Background())
	if err != nil {
		db.Close()
		conn.Close()
		return nil, openError(name, err)
	}
	return &DB{path: name, conn: conn, db: db, c: c}, nil
}

// openError says what DuckDB's refusal to open a file means.
func openError(name string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock"):
		return fmt.Errorf("harness: %s: in use by another process (DuckDB lets one process write a file at a time; wait for it or use another file): %w", name, err)
	case strings.Contains(msg, "not a valid DuckDB database") || strings.Contains(msg, "Corrupt") ||
		strings.Contains(msg, "corrupt") || strings.Contains(msg, "checksum") || strings.Contains(msg, "Serialization") ||
		strings.Contains(msg, "database file") || strings.Contains(msg, "IO Error"):
		return fmt.Errorf("harness: %s: not a DuckDB database, or damaged (move it away to start afresh): %w", name, err)
	}
	return fmt.Errorf("harness: %s: %w", name, err)
}

// Path is the file the database is in, or "(in memory)".
func (d *DB) Path() string { return d.path }

// Conn is the database's one connection, for queries of your own. Do not
// close it; Close does.
func (d *DB) Conn() *sql.Conn { return d.c }

// Close closes the database.
func (d *DB) Close() error {
	if d == nil || d.db == nil {
		return nil
	}
	err := errors.Join(d.c.Close(), d.db.Close(), d.conn.Close())
	d.db = nil
	if err != nil {
		return fmt.Errorf("harness: close %s: %w", d.path, err)
	}
	return nil
}

func (d *DB) exec(ctx context.Context, query string, args ...any) error {
	if _, err := d.c.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("harness: %s: %w", d.path, err)
	}
	return nil
}

// raw runs f on the DuckDB driver connection (for the Appender).
func (d *DB) raw(f func(driver.Conn) error) error {
	return d.c.Raw(func(dc any) error { return f(dc.(driver.Conn)) })
}

// migrate makes the tables of SchemaVersion, or brings an older database's
// tables to it, in one transaction.
func (d *DB) migrate(ctx context.Context) error {
	version, err := d.version(ctx)
	if err != nil {
		return err
	}
	switch {
	case version == SchemaVersion:
		// The views and the personal-data marks are renewed at every open,
		// so that a fixed view or a newly marked column reaches files
		// written before.
		if err := d.createViews(ctx); err != nil {
			return err
		}
		return d.markPersonalData(ctx, TableProfiles, arrowconv.Schema())
	case version > SchemaVersion:
		return fmt.Errorf("harness: %s: schema version %d was written by a newer wadeep (this one knows up to %d): upgrade wadeep, or use another file", d.path, version, SchemaVersion)
	case version == 0:
		var n int
		if err := d.c.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'profiles'`).Scan(&n); err != nil {
			return fmt.Errorf("harness: %s: %w", d.path, err)
		}
		if n > 0 {
			return fmt.Errorf("harness: %s: has a profiles table but no %s: not a wadeep database (or one from before schema versions); use another file", d.path, tableMeta)
		}
	}
	// version 0 (new) → 1. Later versions add their steps here, each
	// from the version before.
	if err := d.exec(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	err = d.create(ctx)
	if err == nil {
		err = d.exec(ctx, `INSERT OR REPLACE INTO wadeep_meta VALUES ('schema_version', ?)`, strconv.Itoa(SchemaVersion))
	}
	if err != nil {
		d.exec(ctx, "ROLLBACK")
		return err
	}
	return d.exec(ctx, "COMMIT")
}

// version reads wadeep_meta's schema_version; 0 when there is none.
func (d *DB) version(ctx context.Context) (int, error) {
	var n int
	if err := d.c.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'wadeep_meta'`).Scan(&n); err != nil {
		return 0, openError(d.path, err)
	}
	if n == 0 {
		return 0, nil
	}
	var v string
	err := d.c.QueryRowContext(ctx, `SELECT value FROM wadeep_meta WHERE key = 'schema_version'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("harness: %s: %w", d.path, err)
	}
	version, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("harness: %s: schema version %q is not a number: not a wadeep database", d.path, v)
	}
	return version, nil
}

// create makes the version's tables and views.
func (d *DB) create(ctx context.Context) error {
	var cols []string
	for _, c := range profileColumns {
		cols = append(cols, quote(c.name)+" "+c.typ)
	}
	if err := d.exec(ctx, "CREATE TABLE IF NOT EXISTS profiles ("+strings.Join(cols, ", ")+")"); err != nil {
		return err
	}
	if err := d.markPersonalData(ctx, TableProfiles, arrowconv.Schema()); err != nil {
		return err
	}
	if err := d.exec(ctx, ddl); err != nil {
		return err
	}
	return d.createViews(ctx)
}

// personalDataComment is the column comment that marks a field with
// personal-data metadata (arrowconv.MetaPersonalData) in DuckDB, where
// columns have comments rather than metadata:
// "wadeep.personal_data = inferred_from_picture". ok is false for a field
// without it.
func personalDataComment(f arrow.Field) (comment string, ok bool) {
	v, ok := f.Metadata.GetValue(arrowconv.MetaPersonalData)
	if !ok {
		return "", false
	}
	return arrowconv.MetaPersonalData + " = " + v, true
}

// markPersonalData gives each column of table whose field in schema carries
// personal-data metadata its personalDataComment, and takes the mark off
// every other column of table (a pass-through column, or one a newer schema
// no longer marks). Comments of other origins are left alone; columns
// already right are not touched.
func (d *DB) markPersonalData(ctx context.Context, table string, schema *arrow.Schema) error {
	want := map[string]string{}
	for _, f := range schema.Fields() {
		if c, ok := personalDataComment(f); ok {
			want[f.Name] = c
		}
	}
	rows, err := d.c.QueryContext(ctx, `SELECT column_name, comment FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = ?`, table)
	if err != nil {
		return fmt.Errorf("harness: %s: %w", d.path, err)
	}
	var stmts []string
	for rows.Next() {
		var name string
		var have sql.NullString
		if err := rows.Scan(&name, &have); err != nil {
			rows.Close()
			return fmt.Errorf("harness: %s: %w", d.path, err)
		}
		target := fmt.Sprintf("COMMENT ON COLUMN %s.%s IS ", quote(table), quote(name))
		switch c, marked := want[name]; {
		case marked && have.String != c:
			stmts = append(stmts, target+"'"+strings.ReplaceAll(c, "'", "''")+"'")
		case !marked && strings.HasPrefix(have.String, arrowconv.MetaPersonalData):
			stmts = append(stmts, target+"NULL")
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return fmt.Errorf("harness: %s: %w", d.path, err)
	}
	for _, s := range stmts {
		if err := d.exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func (d *DB) createViews(ctx context.Context) error {
	for _, v := range Views {
		if err := d.exec(ctx, "CREATE OR REPLACE VIEW "+v.Name+" AS "+v.SQL); err != nil {
			return err
		}
	}
	return nil
}

// quote quotes an SQL identifier.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
