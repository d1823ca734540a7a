package sink_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/internal/fsx/fsxtest"
	"github.com/wadeep/wadeep/sink"
)

func TestCheckPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain.csv")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "taken.csv"), 0o700))
	ro := fsxtest.ReadOnlyDir(t)

	tests := []struct {
		name, path string
		want       string // in the message, besides the path
		is         error  // wrapped, when not nil
	}{
		{"ok", filepath.Join(dir, "out.parquet"), "", nil},
		{"ok existing file", file, "", nil},
		{"unknown extension", filepath.Join(dir, "out.pdf"), `unknown output format ".pdf"`, sink.ErrUnknownFormat},
		{"no extension", filepath.Join(dir, "out"), "no file extension", sink.ErrUnknownFormat},
		{"missing directory", filepath.Join(dir, "no", "such", "out.csv"), "directory " + filepath.Join(dir, "no", "such") + " does not exist", fs.ErrNotExist},
		{"parent is a file", filepath.Join(file, "out.csv"), file + " is not a directory", nil},
		{"path is a directory", filepath.Join(dir, "taken.csv"), "is a directory", nil},
		{"read-only directory", filepath.Join(ro, "out.csv"), "cannot create files in directory " + ro, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := os.ReadDir(filepath.Dir(tt.path))
			err := sink.CheckPath(tt.path)
			after, _ := os.ReadDir(filepath.Dir(tt.path))
			require.Equal(t, len(before), len(after), "nothing is left behind")
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			msg := err.Error()
			require.Contains(t, msg, tt.path)
			require.Contains(t, msg, tt.want)
			require.NotContains(t, msg, "\n")
			require.True(t, strings.HasPrefix(msg, "sink: "), msg)
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
		})
	}
}

func TestUnstartedFile(t *testing.T) {
	var nilFile *sink.File
	require.NotPanics(t, func() {
		require.NoError(t, nilFile.Abort())
		require.Error(t, nilFile.Close())
		require.Error(t, nilFile.Write(nil))
	})
	var zero sink.File
	require.NotPanics(t, func() {
		require.NoError(t, zero.Abort())
		require.Error(t, zero.Close())
		require.Error(t, zero.Write(nil))
	})

	// What a failed Create returns is safe to Abort, also behind the Writer
	// interface (a typed nil).
	w, err := sink.Create(filepath.Join(t.TempDir(), "no", "such", "out.parquet"), profileSchema())
	require.Error(t, err)
	var iw sink.Writer = w
	require.NotPanics(t, func() {
		require.NoError(t, w.Abort())
		require.Error(t, iw.Close())
	})
}

func TestCreateSweepsStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-48 * time.Hour)
	put := func(name string, mtime time.Time) {
		t.Helper()
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
		require.NoError(t, os.Chtimes(p, mtime, mtime))
	}
	put(".wadeep-sink-out.csv-123.tmp", old)        // an earlier version's killed writer: removed
	put(".wadeep-sink-456.arrows", old)             // an earlier version's spill: removed
	put(".wadeep-sink-out.csv-789.tmp", time.Now()) // a live writer's: kept
	put("earlier.csv", old)                         // the user's: kept
	put(".tmp-123", old)                            // not a sink's: kept
	putDir := func(name string, mtime time.Time) {
		t.Helper()
		p := filepath.Join(dir, name)
		require.NoError(t, os.Mkdir(p, 0o700))
		f := filepath.Join(p, "out.csv-1.tmp")
		require.NoError(t, os.WriteFile(f, []byte("x"), 0o600))
		require.NoError(t, os.Chtimes(f, mtime, mtime))
		require.NoError(t, os.Chtimes(p, old, old))
	}
	putDir(".wadeep-sink-111", old)        // a killed writer's directory: removed
	putDir(".wadeep-sink-222", time.Now()) // a live writer's (its file is fresh): kept

	w, err := sink.Create(filepath.Join(dir, "out.csv"), profileSchema())
	require.NoError(t, err)
	require.NoError(t, w.Close())

	var got []string
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		got = append(got, e.Name())
	}
	require.ElementsMatch(t, []string{".wadeep-sink-out.csv-789.tmp", ".wadeep-sink-222", "earlier.csv", ".tmp-123", "out.csv"}, got)
}

// tempEntries lists dir's entries that start with sink.TempPrefix, and
// those directly in them, as path (relative to dir) → mode.
func tempEntries(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	got := map[string]fs.FileMode{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), sink.TempPrefix) {
			continue
		}
		info, err := e.Info()
		require.NoError(t, err)
		got[e.Name()] = info.Mode()
		if e.IsDir() {
			inner, err := os.ReadDir(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			for _, f := range inner {
				info, err := f.Info()
				require.NoError(t, err)
				got[filepath.Join(e.Name(), f.Name())] = info.Mode()
			}
		}
	}
	return got
}

// requirePrivate checks that the temporary entries are one private
// directory (0700) holding want files, each 0600.
func requirePrivate(t *testing.T, got map[string]fs.FileMode, want int) {
	t.Helper()
	dirs, files := 0, 0
	for name, mode := range got {
		switch {
		case mode.IsDir():
			dirs++
			require.Equal(t, fs.FileMode(0o700), mode.Perm(), name)
		case mode.IsRegular():
			files++
			require.Equal(t, fs.FileMode(0o600), mode.Perm(), name)
			require.Contains(t, name, string(filepath.Separator), "%s: inside the private directory", name)
		default:
			t.Fatalf("%s: mode %s", name, mode)
		}
	}
	require.Equal(t, 1, dirs, "one private directory: %v", got)
	require.Equal(t, want, files, "files in it: %v", got)
}

func TestTempFilesArePrivateAndRemoved(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are Unix's")
	}
	schema := profileSchema()
	recs := buildBatches(t, memory.DefaultAllocator, schema)
	defer release(recs)
	// The Arrow output spills its batches until Close (the schema has
	// dictionary columns): two files in the directory.
	for _, tc := range []struct {
		ext   string
		files int
	}{{".csv", 1}, {".arrow", 2}, {".xlsx", 1}, {".parquet", 1}} {
		for _, end := range []string{"close", "abort", "failed write"} {
			t.Run(tc.ext+" "+end, func(t *testing.T) {
				dir := t.TempDir()
				require.NoError(t, os.Chmod(dir, 0o777)) // a shared directory
				path := filepath.Join(dir, "out"+tc.ext)
				w, err := sink.Create(path, schema)
				require.NoError(t, err)
				require.NoError(t, w.Write(recs[0]))
				requirePrivate(t, tempEntries(t, dir), tc.files)
				switch end {
				case "close":
					require.NoError(t, w.Close())
					require.FileExists(t, path)
				case "abort":
					require.NoError(t, w.Abort())
				case "failed write":
					require.Error(t, w.Write(buildOther(t, memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.BinaryTypes.String}}, nil))))
					require.Error(t, w.Close())
				}
				require.Empty(t, tempEntries(t, dir), "nothing temporary is left")
			})
		}
	}

	// A Stream to a writer spills into a private directory of its own in
	// the system's temp directory, removed at the end.
	for _, format := range []sink.Format{sink.Arrow, sink.XLSX} {
		for _, end := range []string{"close", "abort"} {
			t.Run("stream "+string(format)+" "+end, func(t *testing.T) {
				tmp := t.TempDir()
				t.Setenv("TMPDIR", tmp)
				var out bytes.Buffer
				w, err := sink.New(&out, format, schema)
				require.NoError(t, err)
				require.NoError(t, w.Write(recs[0]))
				want := 1
				if format == sink.XLSX {
					want = 0 // excelize buffers in memory up to 16 MiB
				}
				requirePrivate(t, tempEntries(t, tmp), want)
				if end == "close" {
					require.NoError(t, w.Close())
					require.Positive(t, out.Len())
				} else {
					require.NoError(t, w.Abort())
				}
				require.Empty(t, tempEntries(t, tmp))
			})
		}
	}
}
