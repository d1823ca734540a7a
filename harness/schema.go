package harness

import "time"

// SchemaVersion is the version of the tables this package makes. A database
// records its version in wadeep_meta; Open migrates an older one and
// refuses a newer one.
const SchemaVersion = 1

// Table names: scripts depend on them.
const (
	TableProfiles = "profiles"
	TableRejects  = "rejects"
	TableTasks    = "tasks"
	TableEnriched = "enriched"
	tableMeta     = "wadeep_meta"
)

// profileColumns are the profiles table's fixed columns, in the order of the
// profile schema (arrowconv.Schema), with their DuckDB types.
var profileColumns = []struct{ name, typ string }{
	{"number", "VARCHAR NOT NULL"},
	{"country", "VARCHAR"},
	{"status", "VARCHAR NOT NULL"},
	{"whatsapp", "BOOLEAN"},
	{"avatar", "VARCHAR"},
	{"category", "VARCHAR"},
	{"gender", "VARCHAR"},
	{"age_min", "SMALLINT"},
	{"age_max", "SMALLINT"},
	{"hair_color", "VARCHAR"},
	{"task_id", "VARCHAR"},
	{"checked_at", "TIMESTAMPTZ"},
}

// ddl makes the tables and views of version 1 (idempotent).
const ddl = `
CREATE TABLE IF NOT EXISTS wadeep_meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS rejects (file VARCHAR, "row" BIGINT, value VARCHAR, reason VARCHAR);
CREATE TABLE IF NOT EXISTS tasks (
	task_id VARCHAR PRIMARY KEY, chunk INTEGER, status VARCHAR, numbers INTEGER,
	profiles INTEGER, failed INTEGER, created_at TIMESTAMPTZ, exported_at TIMESTAMPTZ,
	written_at TIMESTAMPTZ, resumed BOOLEAN, charged_creates INTEGER, charged_status_calls INTEGER);
`

// Views are the ready-made views, created in every database Open or
// OpenFiles makes. They read profiles and rejects, so they follow merges.
var Views = []struct{ Name, SQL string }{
	{"coverage_by_country", `
SELECT country,
       count(*) AS numbers,
       count(*) FILTER (WHERE status = 'checked') AS checked,
       count(*) FILTER (WHERE whatsapp) AS on_whatsapp,
       round(count(*) FILTER (WHERE whatsapp) / nullif(count(*) FILTER (WHERE status = 'checked'), 0), 3) AS share
FROM profiles
GROUP BY country
ORDER BY numbers DESC, country`},
	{"picture_categories", `
SELECT coalesce(category, '(none)') AS category,
       count(*) AS profiles,
       round(count(*) / sum(count(*)) OVER (), 3) AS share
FROM profiles
WHERE whatsapp
GROUP BY ALL
ORDER BY profiles DESC, category`},
	{"failures", `
SELECT 'failed upstream' AS kind, number AS value, 'the upstream could not check it' AS reason,
       NULL::VARCHAR AS file, NULL::BIGINT AS "row", task_id, checked_at
FROM profiles WHERE status = 'failed'
UNION ALL
SELECT 'rejected', value, reason, file, "row", NULL, NULL
FROM rejects
ORDER BY kind, file, "row", value`},
}

// ColSource is the column a job with a cache adds to its batches (see
// connector.Job.Cache); the profiles table does not keep it.
const ColSource = "source"

// Task is one chunk's row in the tasks table.
type Task struct {
	ID          string
	Chunk       int // 1-based
	Status      string
	Numbers     int
	Profiles    int
	Failed      int
	CreatedAt   time.Time
	ExportedAt  time.Time
	Resumed     bool  // created by an earlier run
	Creates     int64 // charged creations this run made for it
	StatusCalls int64 // charged status calls this run made for it
}
