package sink_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/arrowconv"
)

// TestPersonalDataMetadataInFiles writes a batch of the real profile
// schema (arrowconv.Schema, with a pass-through column) to .arrow and
// .parquet and reads each file back with arrow-go's own readers: the
// inferred columns, spelled out here as DESIGN §3 names them, carry
// wadeep.personal_data = inferred_from_picture, and no other column does.
func TestPersonalDataMetadataInFiles(t *testing.T) {
	inferred := []string{"gender", "age_min", "age_max", "hair_color"}
	marks := func(t *testing.T, s *arrow.Schema) []string {
		t.Helper()
		var got []string
		for _, f := range s.Fields() {
			if v, ok := f.Metadata.GetValue("wadeep.personal_data"); ok {
				require.Equal(t, "inferred_from_picture", v, f.Name)
				got = append(got, f.Name)
			}
		}
		return got
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrowconv.Schema("profile_url")
	rec := oneProfile(t, mem, schema)
	defer rec.Release()
	dir := t.TempDir()

	t.Run(".arrow", func(t *testing.T) {
		path := filepath.Join(dir, "p.arrow")
		writeFile(t, mem, path, schema, []arrow.RecordBatch{rec})
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
		require.NoError(t, err)
		defer r.Close()
		require.Equal(t, inferred, marks(t, r.Schema()))
	})
	t.Run(".parquet", func(t *testing.T) {
		path := filepath.Join(dir, "p.parquet")
		writeFile(t, mem, path, schema, []arrow.RecordBatch{rec})
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		pf, err := file.NewParquetReader(bytes.NewReader(data))
		require.NoError(t, err)
		defer pf.Close()
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
		require.NoError(t, err)
		got, err := fr.Schema()
		require.NoError(t, err)
		require.Equal(t, inferred, marks(t, got))
	})
}

// oneProfile is one checked row of schema (the profile schema with
// pass-through columns).
func oneProfile(t *testing.T, mem memory.Allocator, schema *arrow.Schema) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i, f := range schema.Fields() {
		switch fb := b.Field(i).(type) {
		case *array.StringBuilder:
			fb.Append(map[string]string{"number": "+41798284651", "country": "CH"}[f.Name])
		case *array.BinaryDictionaryBuilder:
			require.NoError(t, fb.AppendString(map[string]string{"status": "checked", "gender": "female", "hair_color": "brown"}[f.Name]))
		case *array.BooleanBuilder:
			fb.Append(true)
		case *array.Int16Builder:
			fb.Append(25)
		case *array.TimestampBuilder:
			fb.Append(1729364023141)
		default:
			t.Fatalf("column %s: no value for %T", f.Name, fb)
		}
	}
	return b.NewRecordBatch()
}
