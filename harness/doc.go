// Package harness keeps wadeep's profiles in an embedded DuckDB database:
// the sink behind "wadeep check --out FILE.duckdb", the profile cache
// behind --cache (it implements connector.Cache), the ready-made views and
// the files "wadeep sql" queries.
//
// Start with Open, then DB.NewProfileWriter to write a job's batches (one
// transaction per chunk, merged by number, the newest checked_at wins), or
// hand the DB to connector.Plan.UseCache and connector.Job.Cache. OpenFiles
// makes an in-memory database over wadeep's Parquet, Arrow IPC and CSV
// outputs.
//
// DuckDB is linked in through cgo. Built without cgo, every function of
// this package returns ErrNoCgo. The Arrow view and query API
// (DB.RegisterView, DB.QueryArrow) is built only with -tags=duckdb_arrow,
// because duckdb-go keeps its Arrow interface behind that tag; nothing else
// needs a tag.
//
// A DB is not safe for concurrent use: it holds one DuckDB connection, so
// that temporary tables, views and transactions stay on it.
package harness

import "errors"

// ErrNoCgo is returned by every function of a build without cgo.
var ErrNoCgo = errors.New("wadeep was built without cgo: DuckDB outputs, sql and --cache are not available")
