package connector

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/internal/fuzzseed"
	"github.com/wadeep/wadeep/sink"
)

// openTestJournal opens a journal for a fixed small job in dir.
func openTestJournal(t *testing.T, dir string) (*Journal, error) {
	t.Helper()
	return openJournal(dir, JobRecord{APIURL: "u", UserID: "a", ChunkSize: 10, Chunks: []string{"h1"}, Numbers: 10, Inputs: []string{"a.txt"}})
}

func TestJournalLockInUse(t *testing.T) {
	dir := t.TempDir()
	j, err := openTestJournal(t, dir)
	require.NoError(t, err)
	_, err = openTestJournal(t, dir)
	require.ErrorContains(t, err, "in use by another wadeep run")
	require.NoError(t, j.Close())

	j, err = openTestJournal(t, dir)
	require.NoError(t, err, "the lock is free again after Close")
	require.NoError(t, j.Close())
}

func TestJournalLockFailureIsNotInUse(t *testing.T) {
	dir := t.TempDir()
	// A directory where the lock file belongs: the lock cannot be taken,
	// and no other run holds it.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "lock"), 0o700))
	_, err := openTestJournal(t, dir)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "in use")
	require.ErrorContains(t, err, "cannot take its lock")
	require.ErrorContains(t, err, filepath.Join(dir, "lock"), "the cause names the lock file")
}

func TestJournalSweepsLeftovers(t *testing.T) {
	dir := t.TempDir()
	j, err := openTestJournal(t, dir)
	require.NoError(t, err)
	require.NoError(t, j.put(ChunkRecord{Hash: "h1", State: StateIntent}))
	require.NoError(t, j.Close())

	results := filepath.Join(dir, "results")
	require.NoError(t, os.MkdirAll(results, 0o700))
	leftovers := []string{
		filepath.Join(dir, ".tmp-111"),
		filepath.Join(dir, "chunks", ".tmp-222"),
		filepath.Join(results, ".download-333"),
	}
	kept := []string{
		filepath.Join(results, "h1.xlsx"),  // a workbook an older wadeep left
		filepath.Join(results, "h1.arrow"), // the kept profiles
	}
	for _, p := range append(leftovers, kept...) {
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
	}
	// A kept result's writer killed mid-write leaves its private directory.
	sinkDir := filepath.Join(results, sink.TempPrefix+"444")
	require.NoError(t, os.Mkdir(sinkDir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(sinkDir, "h1.arrow-5.tmp"), []byte("x"), 0o600))
	leftovers = append(leftovers, sinkDir)
	// Fresh files too: under the lock, no other process can be writing them.
	now := time.Now()
	require.NoError(t, os.Chtimes(leftovers[0], now, now))

	j, err = openTestJournal(t, dir)
	require.NoError(t, err)
	defer j.Close()
	for _, p := range leftovers {
		require.NoFileExists(t, p)
		require.NoDirExists(t, p)
	}
	for _, p := range kept {
		require.FileExists(t, p)
	}
	require.FileExists(t, filepath.Join(dir, "job.json"))
	require.FileExists(t, filepath.Join(dir, "chunks", "h1.json"))
	require.Equal(t, StateIntent, j.record("h1").State)
}

// TestJournalIsPrivate checks the modes of what a new journal writes: its
// directories (the state directory and its parents too) are 0700, its
// files 0600, whatever the umask lets through.
func TestJournalIsPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix file modes; ACLs decide")
	}
	base := t.TempDir()
	dir := filepath.Join(base, "wadeep", "jobs", "j1")
	j, err := openTestJournal(t, dir)
	require.NoError(t, err)
	defer j.Close()
	require.NoError(t, j.put(ChunkRecord{Hash: "h1", State: StateIntent}))
	for _, d := range []string{filepath.Join(base, "wadeep"), filepath.Join(base, "wadeep", "jobs"), dir, filepath.Join(dir, "chunks")} {
		st, err := os.Stat(d)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o700), st.Mode().Perm(), d)
	}
	for _, f := range []string{"job.json", "lock", filepath.Join("chunks", "h1.json")} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), f)
	}
}

// FuzzJournalEntry opens a journal whose job.json and chunk entry hold
// arbitrary bytes (a file on disk, damaged or edited), seeded from the
// entries of testdata/journal: an error in one line that names the file,
// or an entry a run can act on: its own chunk's, in a state wadeep writes,
// with a task id when it has a task.
func FuzzJournalEntry(f *testing.F) {
	job := fuzzseed.Files(f, "testdata/journal/job.json")[0].Data
	for _, s := range fuzzseed.Files(f, "testdata/journal/chunks/*.json") {
		f.Add(s.Data, job)
		f.Add(s.Data, []byte{})
	}
	var want JobRecord
	if err := json.Unmarshal(job, &want); err != nil {
		f.Fatal(err)
	}
	hash := want.Chunks[0]
	f.Fuzz(func(t *testing.T, entry, jobJSON []byte) {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "chunks"), 0o700))
		if len(jobJSON) > 0 { // else a new journal, which writes its own
			require.NoError(t, os.WriteFile(filepath.Join(dir, "job.json"), jobJSON, 0o600))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "chunks", hash+".json"), entry, 0o600))
		j, err := openJournal(dir, want)
		if err != nil {
			msg := err.Error()
			require.NotContains(t, msg, "\n", "one line")
			require.NotContains(t, msg, "\r", "one line")
			require.Contains(t, msg, dir, "the error names the journal")
			require.LessOrEqual(t, len(msg), 2048+len(dir))
			return
		}
		defer j.Close()
		for h, rec := range j.recs {
			require.Equal(t, hash, h, "only the file's own chunk")
			require.NoError(t, rec.check(h), "an entry loaded is one a run can act on: %+v", rec)
		}
	})
}
