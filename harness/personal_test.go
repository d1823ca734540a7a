//go:build cgo

package harness

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/arrowconv"
)

// The columns DESIGN §3 says are inferred from the picture, and the comment
// that marks them in DuckDB. Spelled out here, not taken from the code, so
// that a mark lost anywhere (the schema's metadata, the harness) fails.
var (
	inferredColumns = []string{"gender", "age_min", "age_max", "hair_color"}
	inferredMark    = "wadeep.personal_data = inferred_from_picture"
)

// fileComments opens the database file with DuckDB itself, not through the
// harness, and returns every column comment in it as table, column,
// comment.
func fileComments(t *testing.T, path string) [][]string {
	t.Helper()
	db, err := sql.Open("duckdb", path)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT table_name, column_name, comment FROM duckdb_columns()
		WHERE database_name = current_database() AND comment IS NOT NULL ORDER BY table_name, column_index`)
	require.NoError(t, err)
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		var table, col, comment string
		require.NoError(t, rows.Scan(&table, &col, &comment))
		out = append(out, []string{table, col, comment})
	}
	require.NoError(t, rows.Err())
	return out
}

// execFile runs statements on the database file with DuckDB itself.
func execFile(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("duckdb", path)
	require.NoError(t, err)
	defer db.Close()
	for _, s := range stmts {
		_, err := db.Exec(s)
		require.NoError(t, err, s)
	}
}

func marked(tables ...string) [][]string {
	var out [][]string
	for _, table := range tables {
		for _, c := range inferredColumns {
			out = append(out, []string{table, c, inferredMark})
		}
	}
	return out
}

func TestInferredColumnsAreTheMarkedFields(t *testing.T) {
	var got []string
	for _, f := range arrowconv.Schema().Fields() {
		if v, ok := f.Metadata.GetValue(arrowconv.MetaPersonalData); ok {
			require.Equal(t, "inferred_from_picture", v, f.Name)
			got = append(got, f.Name)
		}
	}
	require.Equal(t, inferredColumns, got)
}

// TestPersonalDataCommentsInFile writes profiles (with a pass-through
// column) and a table of the profile schema into a file, and reads the file's
// column comments back with DuckDB: the inferred columns of both tables carry
// the mark and no other column carries any comment.
func TestPersonalDataCommentsInFile(t *testing.T) {
	ctx := context.Background()
	d, path := openTemp(t)
	rec := profiles(t, []prof{{number: "+41790000001", status: "checked", whatsapp: true, checkedAt: time.Now(), task: "t1"}}, "profile_url")
	defer rec.Release()

	pw, err := d.NewProfileWriter(ctx, rec.Schema())
	require.NoError(t, err)
	require.NoError(t, pw.Write(rec))
	require.NoError(t, pw.EndChunk(Task{ID: "t1", Chunk: 1}))
	require.NoError(t, pw.Close())
	tw, err := d.NewTableWriter(ctx, "loaded", rec.Schema())
	require.NoError(t, err)
	require.NoError(t, tw.Write(rec))
	require.NoError(t, tw.Close())
	require.NoError(t, d.Close())

	require.Equal(t, marked("loaded", TableProfiles), fileComments(t, path))
}

// TestPersonalDataCommentsRenewedOnOpen opens a file whose marks are not
// this version's (as one written by an older wadeep would be): Open marks
// what the schema marks, takes a stale mark off, and keeps a comment of the
// user's own.
func TestPersonalDataCommentsRenewedOnOpen(t *testing.T) {
	d, path := openTemp(t)
	require.NoError(t, d.Close())
	execFile(t, path,
		`COMMENT ON COLUMN profiles.gender IS NULL`,
		`COMMENT ON COLUMN profiles.age_max IS 'age'`,
		`COMMENT ON COLUMN profiles.avatar IS '`+inferredMark+`'`,
		`COMMENT ON COLUMN profiles.country IS 'ISO 3166-1 alpha-2'`,
	)

	d, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, d.Close())

	want := [][]string{{TableProfiles, "country", "ISO 3166-1 alpha-2"}}
	require.Equal(t, append(want, marked(TableProfiles)...), fileComments(t, path))
}
