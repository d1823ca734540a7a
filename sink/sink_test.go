package sink_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/sink"
)

var allFormats = []sink.Format{sink.CSV, sink.JSONL, sink.Arrow, sink.Parquet, sink.XLSX}

var exts = map[sink.Format]string{
	sink.CSV: ".csv", sink.JSONL: ".jsonl", sink.Arrow: ".arrow", sink.Parquet: ".parquet", sink.XLSX: ".xlsx",
}

func TestFormatFromPath(t *testing.T) {
	for path, want := range map[string]sink.Format{
		"out.csv": sink.CSV, "a/b/OUT.CSV": sink.CSV,
		"x.jsonl": sink.JSONL, "x.ndjson": sink.JSONL,
		"x.arrow": sink.Arrow, "x.ipc": sink.Arrow, "x.feather": sink.Arrow,
		"x.parquet": sink.Parquet, "x.Parquet": sink.Parquet,
		"x.xlsx": sink.XLSX,
	} {
		got, err := sink.FormatFromPath(path)
		require.NoError(t, err, path)
		require.Equal(t, want, got, path)
	}

	for _, path := range []string{"out.txt", "out.csv.gz", "out.duckdb", "out", "dir.csv/out"} {
		_, err := sink.FormatFromPath(path)
		require.ErrorIs(t, err, sink.ErrUnknownFormat, path)
		require.Contains(t, err.Error(), ".parquet", "%s: the error lists what is supported", path)
	}
	_, err := sink.FormatFromPath("out.txt")
	require.EqualError(t, err, `sink: unknown output format ".txt" for "out.txt" (supported: .csv, .jsonl, .ndjson, .arrow, .ipc, .feather, .parquet, .xlsx)`)
	_, err = sink.FormatFromPath("out")
	require.EqualError(t, err, `sink: unknown output format: "out" has no file extension (supported: .csv, .jsonl, .ndjson, .arrow, .ipc, .feather, .parquet, .xlsx)`)

	_, err = sink.New(&bytes.Buffer{}, "tsv", profileSchema())
	require.ErrorIs(t, err, sink.ErrUnknownFormat)

	dir := t.TempDir()
	_, err = sink.Create(filepath.Join(dir, "out.txt"), profileSchema())
	require.ErrorIs(t, err, sink.ErrUnknownFormat)
	requireEmptyDir(t, dir)
}

func TestNeverWritten(t *testing.T) {
	for _, name := range []string{"skin_color", "Skin Color", "SKIN-COLOR", " skin_colour ", "skinColor", "skin_tone", "Ethnicity", "race"} {
		schema := arrow.NewSchema([]arrow.Field{
			{Name: "number", Type: arrow.BinaryTypes.String},
			{Name: name, Type: arrow.BinaryTypes.String, Nullable: true},
		}, nil)
		for _, format := range allFormats {
			var out bytes.Buffer
			w, err := sink.New(&out, format, schema)
			require.ErrorIs(t, err, sink.ErrNeverWritten, "%q %s", name, format)
			require.Nil(t, w)
			require.Zero(t, out.Len(), "nothing written")

			dir := t.TempDir()
			_, err = sink.Create(filepath.Join(dir, "out"+exts[format]), schema)
			require.ErrorIs(t, err, sink.ErrNeverWritten, "%q %s", name, format)
			requireEmptyDir(t, dir)
		}
	}

	// The denied check wins over a type complaint, and the message says why.
	schema := arrow.NewSchema([]arrow.Field{{Name: "skin_color", Type: arrow.ListOf(arrow.BinaryTypes.String)}}, nil)
	_, err := sink.New(&bytes.Buffer{}, sink.CSV, schema)
	require.EqualError(t, err, "sink: column skin_color is never written (see docs/privacy.md)")

	// Look-alikes are fine.
	schema = arrow.NewSchema([]arrow.Field{{Name: "hair_color", Type: arrow.BinaryTypes.String}, {Name: "skin", Type: arrow.BinaryTypes.String}}, nil)
	_, err = sink.New(&bytes.Buffer{}, sink.CSV, schema)
	require.NoError(t, err)
}

func TestSchemaErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		schema *arrow.Schema
		is     error
		msg    string
	}{
		{"list", arrow.NewSchema([]arrow.Field{{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)}}, nil),
			sink.ErrUnsupportedType, `column "tags" has type list<item: utf8, nullable>`},
		{"binary", arrow.NewSchema([]arrow.Field{{Name: "photo", Type: arrow.BinaryTypes.Binary}}, nil),
			sink.ErrUnsupportedType, `column "photo" has type binary`},
		{"dict of int", arrow.NewSchema([]arrow.Field{{Name: "code", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.PrimitiveTypes.Int64}}}, nil),
			sink.ErrUnsupportedType, `column "code"`},
		{"duplicate", arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.BinaryTypes.String}, {Name: "a", Type: arrow.BinaryTypes.String}}, nil),
			nil, `duplicate column name "a"`},
		{"nil", nil, nil, "nil schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, format := range allFormats {
				_, err := sink.New(&bytes.Buffer{}, format, tc.schema)
				require.Error(t, err, format)
				if tc.is != nil {
					require.ErrorIs(t, err, tc.is)
				}
				require.Contains(t, err.Error(), tc.msg)
			}
		})
	}
}

func TestOptionErrors(t *testing.T) {
	_, err := sink.New(&bytes.Buffer{}, sink.XLSX, profileSchema(), sink.WithSheetName("a/b"))
	require.ErrorContains(t, err, `sheet name "a/b"`)
	_, err = sink.New(&bytes.Buffer{}, sink.Parquet, profileSchema(), sink.WithCompression(compress.Codecs.Lzo))
	require.ErrorContains(t, err, "sink: parquet: compression")
}

func TestCreateCommitsOnClose(t *testing.T) {
	for _, format := range allFormats {
		t.Run(string(format), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			schema := profileSchema()
			recs := buildBatches(t, mem, schema)
			defer release(recs)

			dir := t.TempDir()
			path := filepath.Join(dir, "out"+exts[format])
			w, err := sink.Create(path, schema, sink.WithAllocator(mem))
			require.NoError(t, err)
			require.NoError(t, w.Write(recs[0]))

			require.NoFileExists(t, path, "nothing at the path before Close")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				require.True(t, strings.HasPrefix(e.Name(), "."), "%s: work in progress is hidden", e.Name())
			}

			require.NoError(t, w.Write(recs[1]))
			require.NoError(t, w.Close())
			require.FileExists(t, path)
			require.NoError(t, w.Close(), "Close again returns the same result")
			require.NoError(t, w.Abort(), "Abort after Close does nothing")
			require.FileExists(t, path)
			require.ErrorContains(t, w.Write(recs[0]), "write after close")
			entries, err = os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, entries, 1)
		})
	}
}

func TestFailedWriteLeavesNoFile(t *testing.T) {
	other := arrow.NewSchema([]arrow.Field{{Name: "number", Type: arrow.BinaryTypes.String}}, nil)
	for _, format := range allFormats {
		t.Run(string(format), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			schema := profileSchema()
			recs := buildBatches(t, mem, schema)
			defer release(recs)
			bad := buildOther(t, mem, other)
			defer bad.Release()

			dir := t.TempDir()
			path := filepath.Join(dir, "out"+exts[format])
			// An earlier, complete output at the path survives a failed run.
			require.NoError(t, os.WriteFile(path, []byte("previous run"), 0o600))

			w, err := sink.Create(path, schema, sink.WithAllocator(mem))
			require.NoError(t, err)
			require.NoError(t, w.Write(recs[0]))
			werr := w.Write(bad)
			require.ErrorContains(t, werr, "sink: batch has 1 columns, the writer's schema 13")
			require.Equal(t, werr, w.Write(recs[1]), "the first error sticks")

			cerr := w.Close()
			require.Error(t, cerr)
			require.True(t, errors.Is(cerr, werr) || cerr.Error() == werr.Error(), "Close returns the first error: %v", cerr)
			require.Equal(t, cerr, w.Close())

			got, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, "previous run", string(got))
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, entries, 1, "temporary files are removed")
		})
	}
}

func TestAbort(t *testing.T) {
	for _, format := range allFormats {
		t.Run(string(format), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			schema := profileSchema()
			recs := buildBatches(t, mem, schema)
			defer release(recs)

			dir := t.TempDir()
			path := filepath.Join(dir, "out"+exts[format])
			w, err := sink.Create(path, schema, sink.WithAllocator(mem))
			require.NoError(t, err)
			require.NoError(t, w.Write(recs[0]))
			require.NoError(t, w.Abort())
			require.NoError(t, w.Abort())
			require.Error(t, w.Close(), "Close after Abort")
			require.Error(t, w.Write(recs[1]))
			requireEmptyDir(t, dir)
		})
	}
}

func TestStreamAbort(t *testing.T) {
	for _, format := range allFormats {
		t.Run(string(format), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			schema := profileSchema()
			recs := buildBatches(t, mem, schema)
			defer release(recs)

			var out bytes.Buffer
			w, err := sink.New(&out, format, schema, sink.WithAllocator(mem))
			require.NoError(t, err)
			require.NoError(t, w.Write(recs[0]))
			require.NoError(t, w.Abort())
			require.Zero(t, out.Len(), "buffered output is dropped, no footer is added")
			require.ErrorContains(t, w.Close(), "aborted")
			require.ErrorContains(t, w.Write(recs[1]), "aborted")
			require.NoError(t, w.Abort())
		})
	}
}

func TestCreateMissingDir(t *testing.T) {
	_, err := sink.Create(filepath.Join(t.TempDir(), "no", "such", "out.csv"), profileSchema())
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, "sink: create ")
}

// failWriter accepts n bytes, then fails.
type failWriter struct {
	n   int
	err error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return len(p), nil
	}
	n := w.n
	w.n = 0
	return n, w.err
}

// TestOutputErrors: an output that fails is reported, by Write or at the
// latest by Close, never as success.
func TestOutputErrors(t *testing.T) {
	for _, format := range allFormats {
		for _, n := range []int{0, 100, 400} {
			t.Run(fmt.Sprintf("%s/after=%d", format, n), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				schema := profileSchema()
				recs := buildBatches(t, mem, schema)
				defer release(recs)

				boom := errors.New("disk full")
				w, err := sink.New(&failWriter{n: n, err: boom}, format, schema, sink.WithAllocator(mem))
				require.NoError(t, err)
				var first error
				for _, rec := range recs {
					if first = w.Write(rec); first != nil {
						break
					}
				}
				cerr := w.Close()
				require.ErrorIs(t, cerr, boom)
				if first != nil {
					require.ErrorIs(t, first, boom)
				}
			})
		}
	}
}

func buildOther(t *testing.T, mem memory.Allocator, schema *arrow.Schema) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append("+1")
	return b.NewRecordBatch()
}

func requireEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}
