package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
)

// arrowRows reads an Arrow IPC file as one text line per row, and its schema.
func arrowRows(t *testing.T, path string) (*arrow.Schema, []string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	require.NoError(t, err)
	defer r.Close()
	var rows []string
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		require.NoError(t, err)
		for row := 0; row < int(rec.NumRows()); row++ {
			var cells []string
			for c := 0; c < int(rec.NumCols()); c++ {
				cells = append(cells, rec.Column(c).ValueStr(row))
			}
			rows = append(rows, strings.Join(cells, "|"))
		}
	}
	return r.Schema(), rows
}

func TestEveryOutputReadsBack(t *testing.T) {
	// Each output format wadeep writes reads back through convert to the
	// same table, and serves as an input of check with the same numbers.
	_, url := fastSandbox(t, emulator.WithFailureRate(0.2))
	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	require.NoError(t, os.WriteFile(in, []byte(numbersTxt), 0o600))
	api := []string{"--api-url", url, "--api-key", emulator.DefaultAPIKey, "--user-id", "u1", "--region", "CH",
		"--state", filepath.Join(dir, "state"), "--poll-floor", "10ms", "--export-min", "0"}
	ref := filepath.Join(dir, "ref.arrow")
	code, _, stderr := cli(t, "", append([]string{"check", in, "--out", ref}, api...)...)
	require.Equal(t, 0, code, stderr)
	wantSchema, want := arrowRows(t, ref)
	require.Len(t, want, 3)

	for _, ext := range []string{".csv", ".jsonl", ".arrow", ".parquet", ".xlsx"} {
		t.Run(ext, func(t *testing.T) {
			out := filepath.Join(dir, "p"+ext)
			code, _, stderr := cli(t, "", append([]string{"check", in, "--out", out}, api...)...)
			require.Equal(t, 0, code, stderr)

			back := filepath.Join(dir, "back"+ext+".arrow")
			code, _, stderr = cli(t, "", "convert", out, "--out", back)
			require.Equal(t, 0, code, stderr)
			require.Contains(t, stderr, "read back 3 profile rows")
			schema, got := arrowRows(t, back)
			require.True(t, wantSchema.Equal(schema), "schema\n%s\nwant\n%s", schema, wantSchema)
			require.Equal(t, want, got)

			code, _, stderr = cli(t, "", "check", out, "--dry-run")
			require.Equal(t, 0, code, stderr)
			require.Contains(t, stderr, `numbers from column "number"`)
			require.Contains(t, stderr, "distinct numbers to check: 3; rejected: 0")
		})
	}
}
