package connector

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/wadeep/wadeep/internal/fsx"
	"github.com/wadeep/wadeep/sink"
)

// ChunkState is how far one chunk has got; it only moves forward.
type ChunkState string

// Chunk states, in order.
const (
	StateNew        ChunkState = ""           // nothing done yet
	StateIntent     ChunkState = "intent"     // about to create the task: the POST may have been sent
	StateCreated    ChunkState = "created"    // the upstream answered with a task id
	StateExported   ChunkState = "exported"   // the task finished; its result link is known
	StateDownloaded ChunkState = "downloaded" // the result's profiles are kept in the journal, as Arrow
)

// ChunkRecord is the journal's entry for one chunk.
type ChunkRecord struct {
	Hash       string     `json:"hash"`
	Index      int        `json:"index"`
	Numbers    int        `json:"numbers"`
	FirstRow   RowRef     `json:"first_row"`
	State      ChunkState `json:"state"`
	TaskID     string     `json:"task_id,omitempty"`
	IntentAt   time.Time  `json:"intent_at,omitzero"`
	CreatedAt  time.Time  `json:"created_at,omitzero"`   // the upstream's created_at
	UpdatedAt  time.Time  `json:"updated_at,omitzero"`   // the upstream's updated_at when last seen
	ResultFile string     `json:"result_file,omitempty"` // the kept profiles, under the journal's results directory
	Dropped    int        `json:"dropped,omitempty"`     // result rows left out (numbers not uploaded, or repeated)
}

// JobRecord fixes what a journal is for, so that a rerun with other inputs or
// options is caught instead of mixing two jobs.
type JobRecord struct {
	Version   int       `json:"version"`
	APIURL    string    `json:"api_url"`
	UserID    string    `json:"user_id"`
	Inputs    []string  `json:"inputs"`
	Region    string    `json:"region,omitempty"`
	ChunkSize int       `json:"chunk_size"`
	Shard     string    `json:"shard,omitempty"`
	Numbers   int       `json:"numbers"`
	Chunks    []string  `json:"chunks"` // chunk hashes, in order
	StartedAt time.Time `json:"started_at"`
}

const journalVersion = 1

// Journal is the durable record of a job: each chunk's intent, task id and
// progress, written before and after every step that costs money, so that a
// rerun after a crash resumes instead of paying again. Every write is atomic
// (temp file, fsync, rename, fsync of the directory). A journal directory is
// locked by one process at a time. Safe for concurrent use.
type Journal struct {
	dir  string
	lock *flock.Flock
	mu   sync.Mutex
	recs map[string]*ChunkRecord
}

// openJournal opens (or starts) the journal in dir for job. An existing
// journal for another job is an error that says what differs.
func openJournal(dir string, job JobRecord) (*Journal, error) {
	if err := os.MkdirAll(filepath.Join(dir, "chunks"), 0o700); err != nil {
		return nil, fmt.Errorf("connector: journal: %w", err)
	}
	lock, err := lockJournal(dir)
	if err != nil {
		return nil, err
	}
	j := &Journal{dir: dir, lock: lock, recs: map[string]*ChunkRecord{}}
	j.sweep()
	if err := j.checkJob(job); err != nil {
		j.Close()
		return nil, err
	}
	if err := j.load(); err != nil {
		j.Close()
		return nil, err
	}
	return j, nil
}

// Dir is the journal's directory.
func (j *Journal) Dir() string { return j.dir }

// Close releases the journal's lock.
func (j *Journal) Close() error { return j.lock.Close() }

// lockWait is how long lockJournal waits for a lock another process
// holds before it calls the journal in use: long enough for the instant a
// listing of jobs holds it (see lockHeld), far shorter than any run.
const lockWait = 250 * time.Millisecond

// lockJournal takes the journal's lock file: one process at a time works in
// a journal. A lock another run holds is an error that wraps ErrInUse.
func lockJournal(dir string) (*flock.Flock, error) {
	path := filepath.Join(dir, "lock")
	deadline := time.Now().Add(lockWait)
	for {
		lock := flock.New(path, flock.SetPermissions(0o600))
		ok, err := lock.TryLock()
		if err != nil {
			return nil, fmt.Errorf("connector: journal %s: cannot take its lock: %w", dir, err)
		}
		if ok && !sameLockFile(lock, path) {
			// RemoveJob removed the file while this one waited on it: the
			// lock is on a file no one else will find. Take the new one.
			lock.Close()
			ok = false
		} else if ok {
			return lock, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("connector: journal %s is %w", dir, ErrInUse)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sameLockFile reports whether the file lock holds is still the one at path.
func sameLockFile(lock *flock.Flock, path string) bool {
	held, err := lock.Stat()
	if err != nil {
		return false
	}
	cur, err := os.Stat(path)
	return err == nil && os.SameFile(held, cur)
}

// sweep removes the temporary files a killed run left in the journal (a
// torn entry write, a cut download). It runs under the lock, so no other
// process is writing them; a leftover that cannot be removed only wastes
// space, and the entries ignore it.
func (j *Journal) sweep() {
	for _, d := range []string{j.dir, filepath.Join(j.dir, "chunks"), filepath.Join(j.dir, "results")} {
		fsx.SweepStale(d, 0, fsx.TempPrefix, ".download-")
		fsx.SweepStaleDirs(d, 0, sink.TempPrefix) // a kept result's writer (keep)
	}
}

func (j *Journal) checkJob(job JobRecord) error {
	job.Version = journalVersion
	path := filepath.Join(j.dir, "job.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if job.StartedAt.IsZero() {
			job.StartedAt = time.Now().UTC()
		}
		return writeJSONAtomic(path, job)
	}
	if err != nil {
		return fmt.Errorf("connector: journal: %w", err)
	}
	var old JobRecord
	if err := json.Unmarshal(b, &old); err != nil {
		return fmt.Errorf("connector: journal %s: %w", path, err)
	}
	if diff := jobDiff(old, job); diff != "" {
		return fmt.Errorf("connector: the journal in %s belongs to another job (%s); rerun with the original inputs and options, or use another --state directory", j.dir, diff)
	}
	return nil
}

// jobDiff says how two jobs differ, or "" when they are the same job.
func jobDiff(old, cur JobRecord) string {
	var d []string
	if old.Version != cur.Version {
		d = append(d, fmt.Sprintf("journal version %d, this wadeep writes %d", old.Version, cur.Version))
	}
	if old.APIURL != cur.APIURL {
		d = append(d, fmt.Sprintf("API URL was %s, now %s", printable(old.APIURL), printable(cur.APIURL)))
	}
	if old.UserID != cur.UserID {
		d = append(d, "user id changed")
	}
	if old.ChunkSize != cur.ChunkSize {
		d = append(d, fmt.Sprintf("chunk size was %d, now %d", old.ChunkSize, cur.ChunkSize))
	}
	if old.Region != cur.Region {
		d = append(d, fmt.Sprintf("region was %q, now %q", shorten(old.Region, 40), cur.Region))
	}
	if old.Shard != cur.Shard {
		d = append(d, fmt.Sprintf("shard was %q, now %q", shorten(old.Shard, 40), cur.Shard))
	}
	if !slices.Equal(old.Chunks, cur.Chunks) {
		same := 0
		for same < min(len(old.Chunks), len(cur.Chunks)) && old.Chunks[same] == cur.Chunks[same] {
			same++
		}
		d = append(d, fmt.Sprintf("the input changed: it was %d numbers in %d chunks, now %d numbers in %d chunks, the first %d chunks alike (inputs were %s)",
			old.Numbers, len(old.Chunks), cur.Numbers, len(cur.Chunks), same, nameList(old.Inputs, false)))
	}
	return strings.Join(d, "; ")
}

func (j *Journal) load() error {
	entries, err := os.ReadDir(filepath.Join(j.dir, "chunks"))
	if err != nil {
		return fmt.Errorf("connector: journal: %w", err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue // a temp file left by a crash mid-write
		}
		path := filepath.Join(j.dir, "chunks", e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("connector: journal: %w", err)
		}
		var r ChunkRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("connector: journal entry %s is damaged: %w%s", path, err, damagedAdvice)
		}
		if err := r.check(strings.TrimSuffix(e.Name(), ".json")); err != nil {
			return fmt.Errorf("connector: journal entry %s is damaged: %w%s", path, err, damagedAdvice)
		}
		j.recs[r.Hash] = &r
	}
	return nil
}

// damagedAdvice says what to do about a damaged journal entry.
const damagedAdvice = "; restore it from a backup, or start afresh with another --state directory (its chunks are then created and charged again)"

// check reports what makes an entry read from the file of chunk hash
// unusable: another chunk's hash, a state no wadeep writes, a task id that
// cannot be one, or a created task without its id (which would have the run
// ask the upstream about no task, and pay for it).
func (r *ChunkRecord) check(hash string) error {
	switch {
	case r.Hash != hash:
		return fmt.Errorf("it holds the entry of chunk %q", shorten(r.Hash, 80))
	case r.Index < 0 || r.Numbers < 0:
		return fmt.Errorf("chunk %d of %d numbers", r.Index, r.Numbers)
	case r.TaskID != "" && !validTaskID(r.TaskID):
		return fmt.Errorf("task id %q is not a task id", shorten(r.TaskID, 40))
	}
	switch r.State {
	case StateNew, StateIntent:
	case StateCreated, StateExported, StateDownloaded:
		if r.TaskID == "" {
			return fmt.Errorf("state %s without a task id", r.State)
		}
	default:
		return fmt.Errorf("unknown state %q", shorten(string(r.State), 40))
	}
	return nil
}

// record returns a copy of the chunk's entry; State is StateNew when the
// journal has none.
func (j *Journal) record(hash string) ChunkRecord {
	j.mu.Lock()
	defer j.mu.Unlock()
	if r, ok := j.recs[hash]; ok {
		return *r
	}
	return ChunkRecord{Hash: hash}
}

// put durably writes the chunk's entry before it returns.
func (j *Journal) put(r ChunkRecord) error {
	if err := writeJSONAtomic(filepath.Join(j.dir, "chunks", r.Hash+".json"), r); err != nil {
		return err
	}
	j.mu.Lock()
	j.recs[r.Hash] = &r
	j.mu.Unlock()
	return nil
}

// resultPath is where the chunk's profiles are kept, as an Arrow IPC file.
// The upstream's workbook is only ever a private temp file beside it.
func (j *Journal) resultPath(hash string) string {
	return filepath.Join(j.dir, "results", hash+".arrow")
}

// writeJSONAtomic replaces path with v's JSON so that a crash at any instant
// leaves either the old file or the new one, never a torn one.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("connector: journal: %w", err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

func writeFileAtomic(path string, b []byte) error {
	if err := fsx.WriteFile(path, b); err != nil {
		return fmt.Errorf("connector: journal: %w", err)
	}
	return nil
}

// tasksBeside looks through the journals in the directories beside dir that
// belong to the same API URL and user, and returns the created tasks they
// hold for the wanted chunk hashes. Unreadable journals are passed over:
// they cannot make a run pay twice, only miss a saving.
func tasksBeside(dir, apiURL, userID string, want map[string]Chunk) (map[string]ChunkRecord, error) {
	parent := filepath.Dir(filepath.Clean(dir))
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil, nil
	}
	found := map[string]ChunkRecord{}
	for _, e := range entries {
		other := filepath.Join(parent, e.Name())
		if !e.IsDir() || other == filepath.Clean(dir) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(other, "job.json"))
		if err != nil {
			continue
		}
		var job JobRecord
		if json.Unmarshal(b, &job) != nil || job.APIURL != apiURL || job.UserID != userID {
			continue
		}
		for hash := range want {
			if _, ok := found[hash]; ok {
				continue
			}
			b, err := os.ReadFile(filepath.Join(other, "chunks", hash+".json"))
			if err != nil {
				continue
			}
			var rec ChunkRecord
			if json.Unmarshal(b, &rec) != nil || rec.check(hash) != nil || rec.TaskID == "" {
				continue
			}
			switch rec.State {
			case StateCreated, StateExported, StateDownloaded:
				found[hash] = rec
			}
		}
	}
	return found, nil
}
