package arrowconv

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the expected outputs of golden tests")

const goldenDir = "../testdata/xlsx"

// TestGolden reads result-shaped files written by real spreadsheet writers
// (testdata/xlsx/README.md says how each was made) and compares the profile
// rows, as JSON lines, with the .jsonl beside each file. Run with -update
// to rewrite those after a deliberate change.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.xlsx"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			got := readJSONLines(t, path, WithMissingColumns(), WithTask("task-1", time.Date(2024, 10, 19, 18, 53, 43, 0, time.UTC)))
			want := strings.TrimSuffix(path, ".xlsx") + ".jsonl"
			if *update {
				require.NoError(t, os.WriteFile(want, got, 0o644))
			}
			exp, err := os.ReadFile(want)
			require.NoError(t, err, "run go test -run TestGolden -update to create it")
			require.Equal(t, string(exp), string(got))
		})
	}
}

// readJSONLines reads a workbook into JSON lines, one per profile row,
// checking that no Arrow memory leaks.
func readJSONLines(t *testing.T, path string, opts ...Option) []byte {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := OpenFile(path, append([]Option{WithAllocator(mem), WithBatchRows(3)}, opts...)...)
	require.NoError(t, err)
	defer r.Release()
	var buf bytes.Buffer
	for r.Next() {
		require.NoError(t, array.RecordToJSON(r.RecordBatch(), &buf))
	}
	require.NoError(t, r.Err())
	return buf.Bytes()
}

func recordJSON(rec arrow.RecordBatch, w io.Writer) error { return array.RecordToJSON(rec, w) }
