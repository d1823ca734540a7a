package fsx

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestTempCommit(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "out.bin")
	tmp, err := CreateTemp(dir, ".x-", ".tmp")
	require.NoError(t, err)
	defer tmp.Discard()
	base := filepath.Base(tmp.Name())
	require.Regexp(t, `^\.x-[0-9]+\.tmp$`, base)
	if runtime.GOOS != "windows" {
		st, err := os.Stat(tmp.Name())
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	}

	_, err = tmp.Write([]byte("hello"))
	require.NoError(t, err)
	require.NoFileExists(t, dst, "nothing at the destination before Commit")
	require.NoError(t, tmp.Close())
	b, err := os.ReadFile(tmp.Name())
	require.NoError(t, err, "a closed temp file can be checked by path")
	require.Equal(t, "hello", string(b))
	require.NoFileExists(t, dst)

	require.NoError(t, tmp.Commit(dst))
	b, err = os.ReadFile(dst)
	require.NoError(t, err)
	require.Equal(t, "hello", string(b))
	require.Equal(t, []string{"out.bin"}, names(t, dir))
	require.NoError(t, tmp.Discard(), "Discard after Commit does nothing")
	require.FileExists(t, dst)
	require.Error(t, tmp.Commit(dst), "a second Commit")
}

func TestTempDiscard(t *testing.T) {
	dir := t.TempDir()
	tmp, err := CreateTemp(dir, ".x-", "")
	require.NoError(t, err)
	_, err = tmp.Write([]byte("half"))
	require.NoError(t, err)
	require.NoError(t, tmp.Discard())
	require.Empty(t, names(t, dir), "Discard leaves nothing")
	require.NoError(t, tmp.Discard())
	_, err = tmp.Write([]byte("more"))
	require.ErrorIs(t, err, os.ErrClosed)
	require.Error(t, tmp.Commit(filepath.Join(dir, "out")))
	require.Empty(t, names(t, dir))

	var none *Temp
	require.NoError(t, none.Discard(), "a nil Temp discards nothing")
}

func TestTempCommitFailureRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "taken"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "taken", "f"), nil, 0o600))
	tmp, err := CreateTemp(dir, ".x-", "")
	require.NoError(t, err)
	require.Error(t, tmp.Commit(filepath.Join(dir, "taken")), "cannot rename over a non-empty directory")
	require.Equal(t, []string{"taken"}, names(t, dir))
}

func TestCreateTempRefusesSeparators(t *testing.T) {
	_, err := CreateTemp(t.TempDir(), "../x-", "")
	require.Error(t, err)
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "job.json")
	require.NoError(t, WriteFile(path, []byte("one")))
	require.NoError(t, WriteFile(path, []byte("two")))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "two", string(b))
	require.Equal(t, []string{"job.json"}, names(t, dir), "no temp file left")
	if runtime.GOOS != "windows" {
		st, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	}

	err = WriteFile(filepath.Join(dir, "missing", "f"), []byte("x"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestSyncDir(t *testing.T) {
	require.NoError(t, SyncDir(t.TempDir()))
	require.Error(t, SyncDir(filepath.Join(t.TempDir(), "missing")))
}

func TestSweepStale(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	write := func(name string, mtime time.Time) {
		t.Helper()
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(name), 0o600))
		require.NoError(t, os.Chtimes(p, mtime, mtime))
	}
	write(".tmp-old", old)                                              // stale: removed
	write(".download-old", old)                                         // stale, second prefix: removed
	write(".tmp-fresh", time.Now())                                     // in use by a live writer: kept
	write("results.csv", old)                                           // the user's file: kept
	write("x.tmp-old", old)                                             // prefix not at the start: kept
	write(".other-old", old)                                            // another prefix: kept
	require.NoError(t, os.Mkdir(filepath.Join(dir, ".tmp-dir"), 0o700)) // a directory: kept
	require.NoError(t, os.Chtimes(filepath.Join(dir, ".tmp-dir"), old, old))
	if runtime.GOOS != "windows" {
		target := filepath.Join(t.TempDir(), "target")
		require.NoError(t, os.WriteFile(target, nil, 0o600))
		require.NoError(t, os.Symlink(target, filepath.Join(dir, ".tmp-link"))) // a link: kept
	}

	n, err := SweepStale(dir, 10*time.Minute, TempPrefix, ".download-")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	got := names(t, dir)
	require.NotContains(t, got, ".tmp-old")
	require.NotContains(t, got, ".download-old")
	for _, keep := range []string{".tmp-fresh", "results.csv", "x.tmp-old", ".other-old", ".tmp-dir"} {
		require.Contains(t, got, keep)
	}

	// Age 0 (the caller holds a lock): every file with the prefix goes.
	n, err = SweepStale(dir, 0, TempPrefix)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NotContains(t, names(t, dir), ".tmp-fresh")

	n, err = SweepStale(filepath.Join(dir, "missing"), 0, TempPrefix)
	require.NoError(t, err)
	require.Zero(t, n)

	n, err = SweepStale(dir, 0)
	require.NoError(t, err)
	require.Zero(t, n, "no prefix matches nothing")
}

func TestSweepStaleDirs(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	mkdir := func(name string, dirTime, fileTime time.Time) {
		t.Helper()
		p := filepath.Join(dir, name)
		require.NoError(t, os.Mkdir(p, 0o700))
		f := filepath.Join(p, "out.csv-1.tmp")
		require.NoError(t, os.WriteFile(f, []byte("rows"), 0o600))
		require.NoError(t, os.Chtimes(f, fileTime, fileTime))
		require.NoError(t, os.Chtimes(p, dirTime, dirTime))
	}
	mkdir(".w-old", old, old)             // a killed writer's: removed with its file
	mkdir(".w-live", old, time.Now())     // its writer touched its file: kept
	mkdir(".w-fresh", time.Now(), old)    // just made: kept
	mkdir("w-old", old, old)              // prefix not at the start: kept
	mkdir(".other-old", old, old)         // another prefix: kept
	file := filepath.Join(dir, ".w-file") // a file: for SweepStale, kept here
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	require.NoError(t, os.Chtimes(file, old, old))
	if runtime.GOOS != "windows" {
		target := t.TempDir()
		require.NoError(t, os.Chtimes(target, old, old))
		require.NoError(t, os.Symlink(target, filepath.Join(dir, ".w-link"))) // a link: kept, its target too
	}

	n, err := SweepStaleDirs(dir, 10*time.Minute, ".w-")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got := names(t, dir)
	require.NotContains(t, got, ".w-old")
	for _, keep := range []string{".w-live", ".w-fresh", "w-old", ".other-old", ".w-file"} {
		require.Contains(t, got, keep)
	}
	if runtime.GOOS != "windows" {
		require.Contains(t, got, ".w-link")
	}

	n, err = SweepStaleDirs(dir, 0, ".w-")
	require.NoError(t, err)
	require.Equal(t, 2, n, "age 0: every directory with the prefix")
	require.NotContains(t, names(t, dir), ".w-live")

	n, err = SweepStaleDirs(filepath.Join(dir, "missing"), 0, ".w-")
	require.NoError(t, err)
	require.Zero(t, n)
}
