package connector

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
)

// jobsFixture is a jobs directory holding journals in every state, made
// by real jobs against the sandbox.
type jobsFixture struct {
	root  string
	sb    *sandbox
	clock *virtualClock
	plans map[string]*Plan
}

func newJobsFixture(t *testing.T) *jobsFixture {
	clock := newVirtualClock()
	sb := newSandbox(t, emulator.WithClock(clock), emulator.WithSpeed(100), emulator.WithStartDelay(time.Second), emulator.WithExportDelay(time.Second))
	return &jobsFixture{root: t.TempDir(), sb: sb, clock: clock, plans: map[string]*Plan{}}
}

// plan is a job of n numbers in chunks of 100; seed makes the numbers
// differ between jobs, so that no journal adopts another's tasks.
func (f *jobsFixture) plan(t *testing.T, name string, n, seed int) *Plan {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "+4179%07d\n", 1000000+seed*10000+i)
	}
	plan, err := NewPlan([]Input{{Name: name + ".txt", R: strings.NewReader(b.String())}}, PlanOptions{ChunkSize: 100})
	require.NoError(t, err)
	f.plans[name] = plan
	return plan
}

func (f *jobsFixture) run(t *testing.T, name string, n, seed int) (*Job, *collect) {
	t.Helper()
	out := newCollect()
	job := newJob(t, f.sb, f.clock, f.plan(t, name, n, seed), filepath.Join(f.root, name), out)
	_, err := job.Run(context.Background())
	require.NoError(t, err)
	return job, out
}

func jobByID(t *testing.T, jobs []JobInfo, id string) JobInfo {
	t.Helper()
	for _, j := range jobs {
		if j.ID == id {
			return j
		}
	}
	t.Fatalf("no job %s in %v", id, jobs)
	return JobInfo{}
}

func TestListJobs(t *testing.T) {
	f := newJobsFixture(t)
	done, _ := f.run(t, "done", 250, 1)
	require.NoError(t, done.Journal.Close())

	forgotten, _ := f.run(t, "forgotten", 150, 2)
	_, err := forgotten.Journal.Forget()
	require.NoError(t, err)
	require.NoError(t, forgotten.Journal.Close())

	// Tasks created and not watched: paid for, not delivered.
	plan := f.plan(t, "submitted", 300, 3)
	client := f.sb.client(t)
	j, err := OpenJournal(filepath.Join(f.root, "submitted"), plan, client)
	require.NoError(t, err)
	_, err = (&Job{Client: client, Plan: plan, Journal: j, Clock: f.clock}).Submit(context.Background())
	require.NoError(t, err)
	require.NoError(t, j.Close())

	// A run refused at its first creation: nothing paid.
	j, err = OpenJournal(filepath.Join(f.root, "refused"), f.plan(t, "refused", 100, 4), client)
	require.NoError(t, err)
	require.NoError(t, j.Close())

	// A run going on.
	running, err := OpenJournal(filepath.Join(f.root, "running"), f.plan(t, "running", 100, 5), client)
	require.NoError(t, err)
	defer running.Close()

	require.NoError(t, os.MkdirAll(filepath.Join(f.root, "damaged", "chunks"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(f.root, "damaged", "job.json"), []byte("{not json"), 0o600))
	// Its directory's time is all it has: later than every start above, as
	// set, not as the file system's clock granularity happens to make it.
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(f.root, "damaged"), later, later))
	require.NoError(t, os.MkdirAll(filepath.Join(f.root, "notes"), 0o700)) // not a journal
	require.NoError(t, os.WriteFile(filepath.Join(f.root, "notes", "todo.txt"), []byte("x"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(f.root, "loose.txt"), []byte("x"), 0o600))

	jobs, err := ListJobs(f.root)
	require.NoError(t, err)
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	// Oldest first; the damaged one has only its directory's time.
	require.Equal(t, []string{"done", "forgotten", "submitted", "refused", "running", "damaged"}, ids)

	for _, tc := range []struct {
		id                                string
		state                             string
		incomplete                        bool
		chunks, downloaded, kept, pending int
	}{
		{"done", "done", false, 3, 3, 3, 0},
		{"forgotten", "forgotten", false, 2, 2, 0, 0},
		{"submitted", "incomplete: 0 of 3 chunks downloaded", true, 3, 0, 0, 3},
		{"refused", "not started", false, 1, 0, 0, 0},
		{"running", "in use", false, 1, 0, 0, 0},
	} {
		got := jobByID(t, jobs, tc.id)
		require.Equal(t, tc.state, got.State(), tc.id)
		require.Equal(t, tc.incomplete, got.Incomplete(), tc.id)
		require.Equal(t, []int{tc.chunks, tc.downloaded, tc.kept, tc.pending}, []int{got.Chunks, got.Downloaded, got.Kept, got.Pending}, tc.id)
		require.Equal(t, []string{tc.id + ".txt"}, got.Inputs, tc.id)
		require.Equal(t, client.BaseURL(), got.APIURL)
		require.Equal(t, filepath.Join(f.root, tc.id), got.Dir)
		require.WithinDuration(t, time.Now(), got.Created, time.Minute, tc.id)
	}
	damaged := jobByID(t, jobs, "damaged")
	require.Contains(t, damaged.State(), "unreadable: job.json: ")
	require.True(t, damaged.Incomplete(), "what it holds is unknown")

	// Sizes are what the directories hold: the kept profiles most of it.
	d, fg := jobByID(t, jobs, "done"), jobByID(t, jobs, "forgotten")
	require.Equal(t, dirSize(filepath.Join(f.root, "done")), d.Size)
	require.Greater(t, d.Size, dirSize(filepath.Join(f.root, "done", "results")))
	require.Greater(t, d.Size, fg.Size)
	require.NoDirExists(t, filepath.Join(f.root, "forgotten", "results"))

	jobs, err = ListJobs(filepath.Join(f.root, "missing"))
	require.NoError(t, err)
	require.Empty(t, jobs, "a jobs directory not made yet holds no jobs")
}

func TestForgetThenRerunPaysNoCreation(t *testing.T) {
	f := newJobsFixture(t)
	job, first := f.run(t, "job", 250, 1)
	results := filepath.Join(f.root, "job", "results")
	size := dirSize(results)
	require.Positive(t, size)

	before := f.sb.Stats()
	forgot, err := job.Journal.Forget()
	require.NoError(t, err)
	require.Equal(t, Forgotten{Chunks: 3, Bytes: size}, forgot)
	require.NoDirExists(t, results, "the kept profiles are deleted")
	chunks, err := os.ReadDir(filepath.Join(f.root, "job", "chunks"))
	require.NoError(t, err)
	require.Len(t, chunks, 3, "the chunk records (task ids) stay")
	require.Equal(t, before, f.sb.Stats(), "forgetting calls nothing")
	require.NoError(t, job.Journal.Close())
	_, err = job.Journal.Forget()
	require.ErrorContains(t, err, "after Close")

	// The rerun creates nothing: a status call and a download per chunk.
	second := newCollect()
	job2 := newJob(t, f.sb, f.clock, f.plans["job"], filepath.Join(f.root, "job"), second)
	sum, err := job2.Run(context.Background())
	require.NoError(t, err)
	after := f.sb.Stats()
	require.Equal(t, before.Creates, after.Creates, "no task created again")
	require.Equal(t, 3, after.StatusCalls-before.StatusCalls)
	require.Equal(t, 3, after.Downloads-before.Downloads)
	require.Equal(t, 0, sum.Created)
	require.Equal(t, 3, sum.Resumed)
	require.Equal(t, first.rows, second.rows, "the same profiles")
	require.Equal(t, 3, len(mustGlob(t, filepath.Join(results, "*.arrow"))), "kept again")
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	require.NoError(t, err)
	return m
}

func TestRemoveJob(t *testing.T) {
	f := newJobsFixture(t)
	done, _ := f.run(t, "done", 150, 1)
	dir := filepath.Join(f.root, "done")

	// Held by a run: refused, nothing removed.
	_, err := RemoveJob(dir, RemoveOptions{})
	require.ErrorIs(t, err, ErrInUse)
	require.ErrorContains(t, err, "in use by another wadeep run")
	require.DirExists(t, filepath.Join(dir, "results"))
	require.NoError(t, done.Journal.Close())

	// A file the journal did not write: refused, nothing removed.
	notes := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(notes, []byte("mine"), 0o600))
	_, err = RemoveJob(dir, RemoveOptions{})
	require.ErrorContains(t, err, "holds files a wadeep journal does not (notes.txt): nothing was removed")
	require.DirExists(t, filepath.Join(dir, "results"))
	require.NoError(t, os.Remove(notes))

	size := dirSize(dir)
	info, err := RemoveJob(dir, RemoveOptions{})
	require.NoError(t, err)
	require.Equal(t, "done", info.State())
	require.Equal(t, size, info.Size, "what it freed")
	require.NoDirExists(t, dir)

	// The same job starts afresh in the same place.
	j, err := OpenJournal(dir, f.plans["done"], f.sb.client(t))
	require.NoError(t, err)
	require.NoError(t, j.Close())

	// Incomplete: tasks paid for and not downloaded.
	plan := f.plan(t, "submitted", 250, 2)
	client := f.sb.client(t)
	sub := filepath.Join(f.root, "submitted")
	j, err = OpenJournal(sub, plan, client)
	require.NoError(t, err)
	_, err = (&Job{Client: client, Plan: plan, Journal: j, Clock: f.clock}).Submit(context.Background())
	require.NoError(t, err)
	require.NoError(t, j.Close())
	_, err = RemoveJob(sub, RemoveOptions{})
	require.ErrorIs(t, err, ErrIncomplete)
	require.ErrorContains(t, err, "0 of 3 chunks downloaded, 3 tasks paid for and not downloaded")
	require.ErrorContains(t, err, "would create and pay for its tasks again")
	require.DirExists(t, filepath.Join(sub, "chunks"))
	info, err = RemoveJob(sub, RemoveOptions{Incomplete: true})
	require.NoError(t, err)
	require.Equal(t, 3, info.Pending)
	require.NoDirExists(t, sub)

	// Not a journal.
	other := filepath.Join(f.root, "other")
	require.NoError(t, os.Mkdir(other, 0o700))
	_, err = RemoveJob(other, RemoveOptions{})
	require.ErrorContains(t, err, "is not a wadeep journal")
	require.DirExists(t, other)
}
