package sink_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	put(".wadeep-sink-out.csv-123.tmp", old)        // a killed writer's: removed
	put(".wadeep-sink-456.arrows", old)             // a killed writer's spill: removed
	put(".wadeep-sink-out.csv-789.tmp", time.Now()) // a live writer's: kept
	put("earlier.csv", old)                         // the user's: kept
	put(".tmp-123", old)                            // not a sink's: kept

	w, err := sink.Create(filepath.Join(dir, "out.csv"), profileSchema())
	require.NoError(t, err)
	require.NoError(t, w.Close())

	var got []string
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		got = append(got, e.Name())
	}
	require.ElementsMatch(t, []string{".wadeep-sink-out.csv-789.tmp", "earlier.csv", ".tmp-123", "out.csv"}, got)
}
