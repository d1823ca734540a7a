package connector

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/wadeep/wadeep/internal/fsx"
	"github.com/wadeep/wadeep/sink"
)

// The journal keeps personal data: the profiles of every chunk, as Arrow,
// so that a rerun (or a later read) pays nothing. ListJobs, RemoveJob and
// Journal.Forget are how a user sees and deletes them (docs/privacy.md,
// "Retention").

// ErrInUse means a journal's lock is held by another wadeep run.
var ErrInUse = errors.New("in use by another wadeep run")

// ErrIncomplete means a job holds tasks that were paid for and whose
// results were not all downloaded: removing its journal loses them.
var ErrIncomplete = errors.New("incomplete")

// JobInfo is what ListJobs tells of one job's journal.
type JobInfo struct {
	ID     string   // the journal directory's name
	Dir    string   // the journal directory
	Inputs []string // the inputs, as the job named them
	APIURL string
	// Created is when the job started; for a journal without a readable
	// job record, its directory's modification time.
	Created time.Time
	Size    int64 // bytes of the files in the journal directory

	Chunks     int // chunks of the job, one task each
	Downloaded int // chunks whose results were downloaded (kept or since forgotten)
	Kept       int // chunks whose profiles the journal keeps, of those downloaded
	// Pending are chunks whose task was created (or whose creation answer
	// was lost: it may have been) and whose result was not downloaded yet:
	// paid for, not delivered.
	Pending int
	// InUse says another process holds the journal's lock: a wadeep run.
	InUse bool
	// Problem says why the journal could not be read in full ("" when it
	// could). Such a job counts as incomplete: what it holds is unknown.
	Problem string
}

// State is the job's state in a few words: "in use", "done",
// "forgotten" (every result was downloaded, and the kept profiles were
// deleted since), "incomplete: 2 of 5 chunks downloaded", "not started"
// (no task was created) or "unreadable: ...".
func (j JobInfo) State() string {
	switch {
	case j.InUse:
		return "in use"
	case j.Problem != "":
		return "unreadable: " + j.Problem
	case j.Downloaded >= j.Chunks && j.Kept >= j.Downloaded:
		return "done"
	case j.Downloaded >= j.Chunks && j.Kept == 0:
		return "forgotten"
	case j.Downloaded >= j.Chunks:
		return fmt.Sprintf("partly forgotten: %d of %d chunks kept", j.Kept, j.Chunks)
	case j.Downloaded == 0 && j.Pending == 0:
		return "not started"
	}
	return fmt.Sprintf("incomplete: %d of %d chunks downloaded", j.Downloaded, j.Chunks)
}

// Incomplete reports whether removing the job would lose work paid for
// and not delivered: tasks created (or maybe created) and not downloaded,
// or, beside chunks not created yet, the results of those that were
// (rerunning the job would create and pay for them all again). A job that
// created nothing, or whose every result was downloaded, is not; nor is
// one forgotten. A journal that cannot be read in full is.
//
// Journals beside it (the same API URL and user) may hold the same
// chunks' tasks, from which a rerun would adopt them; that is not counted:
// they may be removed too.
func (j JobInfo) Incomplete() bool {
	return j.Problem != "" || j.Downloaded < j.Chunks && (j.Downloaded > 0 || j.Pending > 0)
}

// DefaultJobsDir is the directory under the user's state directory that
// holds one journal directory per job (see DefaultStateDir):
// $XDG_STATE_HOME/wadeep/jobs, or ~/.local/state/wadeep/jobs.
func DefaultJobsDir() (string, error) {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("connector: no state directory given and no home directory: %w", err)
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "wadeep", "jobs"), nil
}

// ListJobs describes the journals in the directories directly in dir (a
// jobs directory such as DefaultJobsDir, or the parent of --state
// directories), oldest first. Directories that are not journals are passed
// over; a missing dir holds none. It takes no lock and changes nothing:
// a job in use is described as its files stand.
func ListJobs(dir string) ([]JobInfo, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("connector: jobs: %w", err)
	}
	var jobs []JobInfo
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if !e.IsDir() || !isJournal(path) {
			continue
		}
		info := inspectJob(path)
		info.InUse = lockHeld(path)
		jobs = append(jobs, info)
	}
	slices.SortStableFunc(jobs, func(a, b JobInfo) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return jobs, nil
}

// isJournal reports whether dir holds a journal: its job record, its chunk
// records or its lock.
func isJournal(dir string) bool {
	for _, name := range []string{"job.json", "chunks", "lock"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// inspectJob reads a journal's records without its lock: every file in it
// is replaced atomically, so each read sees a whole version.
func inspectJob(dir string) JobInfo {
	info := JobInfo{ID: filepath.Base(dir), Dir: dir, Size: dirSize(dir)}
	if st, err := os.Stat(dir); err == nil {
		info.Created = st.ModTime()
	}
	b, err := os.ReadFile(filepath.Join(dir, "job.json"))
	if errors.Is(err, fs.ErrNotExist) {
		// Made, and stopped before its job record was written (or the
		// record was deleted): only chunk records can tell what it holds.
		if recs, _ := os.ReadDir(filepath.Join(dir, "chunks")); len(recs) > 0 {
			info.Problem = "no job.json"
		}
		return info
	}
	if err != nil {
		info.Problem = fmt.Sprintf("job.json: %v", cause(err))
		return info
	}
	var job JobRecord
	if err := json.Unmarshal(b, &job); err != nil {
		info.Problem = fmt.Sprintf("job.json: %v", err)
		return info
	}
	info.Inputs, info.APIURL, info.Chunks = job.Inputs, job.APIURL, len(job.Chunks)
	if !job.StartedAt.IsZero() {
		info.Created = job.StartedAt
	}
	for _, hash := range job.Chunks {
		b, err := os.ReadFile(filepath.Join(dir, "chunks", hash+".json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue // not started
		}
		var rec ChunkRecord
		if err == nil {
			err = json.Unmarshal(b, &rec)
		}
		if err != nil {
			info.Problem = fmt.Sprintf("chunk record %s.json: %v", hash, cause(err))
			return info
		}
		switch rec.State {
		case StateDownloaded:
			info.Downloaded++
			if _, err := os.Stat(filepath.Join(dir, "results", hash+".arrow")); err == nil {
				info.Kept++
			}
		case StateIntent, StateCreated, StateExported:
			info.Pending++
		}
	}
	return info
}

// cause is a file system error without the path it names.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// dirSize is the size of the regular files under dir; what cannot be read
// counts nothing.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// lockHeld reports whether another process holds the journal's lock. It
// takes the lock shared for an instant, so two listings do not disturb
// each other; a run that starts in that instant waits for it (see
// lockJournal). A journal without a lock file is not in use.
func lockHeld(dir string) bool {
	path := filepath.Join(dir, "lock")
	if _, err := os.Stat(path); err != nil {
		return false
	}
	lock := flock.New(path, flock.SetPermissions(0o600))
	ok, err := lock.TryRLock()
	if err != nil {
		return false
	}
	if ok {
		lock.Close()
	}
	return !ok
}

// RemoveOptions are the options of RemoveJob.
type RemoveOptions struct {
	// Incomplete removes a job even when it is incomplete (see
	// JobInfo.Incomplete): its tasks are lost, and a rerun creates and
	// pays for them again.
	Incomplete bool
}

// RemoveJob deletes the journal in dir: its kept profiles first, then its
// chunk records (task ids and chunk hashes), its job record, the plugin's
// kept input and the temporary files of killed runs, then the directory.
// It takes the journal's lock first, and refuses a journal that another
// run holds (ErrInUse) and, unless opts say so, an incomplete job
// (ErrIncomplete). It removes nothing from a directory that holds files a
// journal does not: it says which. It returns the job as it was when the
// lock was taken.
func RemoveJob(dir string, opts RemoveOptions) (JobInfo, error) {
	if !isJournal(dir) {
		return JobInfo{}, fmt.Errorf("connector: %s is not a wadeep journal (it has no job.json, chunks or lock)", dir)
	}
	lock, err := lockJournal(dir)
	if err != nil {
		return JobInfo{}, err
	}
	locked := true
	defer func() {
		if locked {
			lock.Close()
		}
	}()
	info := inspectJob(dir)
	if info.Incomplete() && !opts.Incomplete {
		what := info.State()
		if info.Pending > 0 {
			what += fmt.Sprintf(", %d %s paid for and not downloaded", info.Pending, plural(info.Pending, "task", "tasks"))
		}
		return info, fmt.Errorf("connector: job %s is %w (%s): deleting it loses what was paid for; rerunning it would create and pay for its tasks again", info.ID, ErrIncomplete, strings.TrimPrefix(what, "incomplete: "))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return info, fmt.Errorf("connector: %w", err)
	}
	var foreign []string
	for _, e := range entries {
		if !journalEntry(e.Name()) {
			foreign = append(foreign, e.Name())
		}
	}
	if len(foreign) > 0 {
		return info, fmt.Errorf("connector: %s holds files a wadeep journal does not (%s): nothing was removed", dir, strings.Join(foreign, ", "))
	}
	// The kept profiles first: if anything fails after, the personal data
	// is gone already.
	order := []string{"results", "chunks", "job.json"}
	for _, e := range entries {
		if !slices.Contains(order, e.Name()) && e.Name() != "lock" {
			order = append(order, e.Name())
		}
	}
	for _, name := range order {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return info, fmt.Errorf("connector: removing job %s: %w", info.ID, err)
		}
	}
	// The lock goes last, while held, so that no run can start in the
	// directory meanwhile (one that waits on the lock sees it was removed,
	// see lockJournal). Windows cannot remove a file that is open.
	lockPath := filepath.Join(dir, "lock")
	if runtime.GOOS == "windows" {
		locked = false
		lock.Close()
	}
	err = errors.Join(removeIfThere(lockPath), os.Remove(dir))
	if err != nil {
		return info, fmt.Errorf("connector: removing job %s: %w", info.ID, err)
	}
	fsx.SyncDir(filepath.Dir(dir))
	return info, nil
}

func removeIfThere(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// journalEntry reports whether a name directly in a journal directory is
// one a journal (or the plugin, which keeps its input beside the journal)
// writes.
func journalEntry(name string) bool {
	switch name {
	case "job.json", "chunks", "results", "lock",
		"input.arrows": // the plugin's kept input (plugin.inputFile)
		return true
	}
	for _, p := range []string{fsx.TempPrefix, ".download-", ".input-", sink.TempPrefix} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Forgotten is what Journal.Forget deleted.
type Forgotten struct {
	Chunks int   // chunks whose kept profiles were deleted
	Bytes  int64 // bytes freed
}

// Forget deletes the profiles the journal keeps (its results directory:
// personal data) and keeps the chunk records, task ids included. Running
// the job again then creates no task: it makes one status call per chunk
// (charged, for a fresh result link) and downloads the results again, as
// long as the upstream keeps the tasks. Call it only once the job's outputs
// are written and closed: until then, the kept profiles are what a
// resumed run reads. Do not call it while a Job runs on the journal.
func (j *Journal) Forget() (Forgotten, error) {
	if !j.lock.Locked() {
		return Forgotten{}, fmt.Errorf("connector: journal %s: Forget after Close", j.dir)
	}
	var f Forgotten
	j.mu.Lock()
	for hash, r := range j.recs {
		if r.State != StateDownloaded {
			continue
		}
		if _, err := os.Stat(j.resultPath(hash)); err == nil {
			f.Chunks++
		}
	}
	j.mu.Unlock()
	results := filepath.Join(j.dir, "results")
	f.Bytes = dirSize(results)
	if err := os.RemoveAll(results); err != nil {
		return f, fmt.Errorf("connector: journal %s: forgetting the kept results: %w", j.dir, err)
	}
	if err := fsx.SyncDir(j.dir); err != nil {
		return f, fmt.Errorf("connector: journal %s: %w", j.dir, err)
	}
	return f, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
