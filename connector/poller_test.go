package connector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var pollEpoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// pollAt is pollEpoch plus s seconds.
func pollAt(s float64) time.Time { return pollEpoch.Add(secs(s)) }

// pollStep is a status answer received at local second at. The upstream's
// clock is the local one unless a test shifts it; the task was created at 0.
type pollStep struct {
	at      float64
	status  Status
	done    int     // for processing
	updated float64 // updated_at, seconds; ignored while pending
}

// feed builds a tracker for a task of size numbers, gives it the creation
// answer at second 0 and the steps, with the upstream's clock skew seconds
// behind, and returns the next wait in seconds.
func feed(pol PollPolicy, size int, skew float64, steps ...pollStep) (*pollTracker, float64) {
	return feedSeed(pol, size, skew, 1, steps...)
}

func feedSeed(pol PollPolicy, size int, skew float64, seed uint64, steps ...pollStep) (*pollTracker, float64) {
	up := func(s float64) time.Time { return pollAt(s - skew) }
	tr := newPollTracker(pol, size, up(0), seed)
	tr.observe(&Task{ID: "t", Status: StatusPending, CreatedAt: up(0), UpdatedAt: up(0)}, pollAt(0))
	now := 0.0
	for _, s := range steps {
		t := &Task{ID: "t", Status: s.status, CreatedAt: up(0), UpdatedAt: up(s.updated)}
		switch s.status {
		case StatusPending:
			t.UpdatedAt = up(0)
		case StatusProcessing:
			t.Total, t.Success = size, s.done
		default:
			t.Total, t.Success = size, size
		}
		tr.observe(t, pollAt(s.at))
		now = s.at
	}
	return tr, tr.next(pollAt(now)).Seconds()
}

// noJitter is the default policy without jitter, so that waits are exact.
var noJitter = func() PollPolicy { p := DefaultPollPolicy(); p.Jitter = -1; return p }()

func TestPollSchedule(t *testing.T) {
	const n = 10000
	for _, c := range []struct {
		name   string
		size   int
		steps  []pollStep
		lo, hi float64 // the next wait, seconds
	}{
		// Nothing seen yet: the task could run 100 times the prior speed
		// and export 2 s after. Look by then plus the 5 s allowed.
		{"first look, small task", 100, nil, 6.0, 6.2},
		{"first look, 20,000 numbers", 20000, nil, 23.3, 23.5},
		// Pending at 10 s: pending is at most a third of the task, so it
		// ends at 30 s at the soonest.
		{"pending backs off threefold", 100, []pollStep{{at: 10, status: StatusPending}}, 23.9, 24.1},
		{"still pending, threefold again", 100, []pollStep{{at: 10, status: StatusPending}, {at: 34, status: StatusPending}}, 72, 72.2},
		// One count and no start: the task may have begun just before it
		// and run fast, having been pending for a third of it. Look at
		// about three times the elapsed.
		{"one count: hop to learn the speed", n, []pollStep{{at: 10, status: StatusProcessing, done: 100, updated: 9.9}}, 15, 25},
		// 10/s measured over 98 s, 882 s to go: aim at the earliest end
		// the noise allows, plus the allowed lateness.
		{"two counts: most of the way", n, []pollStep{
			{at: 5, status: StatusProcessing, done: 0, updated: 2},
			{at: 100.2, status: StatusProcessing, done: 1000, updated: 100},
		}, 700, 882},
		// 10/s over 900 s, 100 s to go: the margin is small, so the look
		// lands past the estimated export at 1002 s.
		{"three counts: just past the end", n, []pollStep{
			{at: 5, status: StatusProcessing, done: 0, updated: 2},
			{at: 500.2, status: StatusProcessing, done: 5000, updated: 500},
			{at: 900.2, status: StatusProcessing, done: 9000, updated: 900},
		}, 1002 - 900.2, 1002 + 0.05*1002 - 900.2},
		// Completed at 10 s and exported 2 s later at the soonest: overdue
		// at 20 s, so look again at the floor.
		{"overdue: floor", 100, []pollStep{
			{at: 5, status: StatusProcessing, done: 50, updated: 4.9},
			{at: 20, status: StatusCompleted, updated: 10},
		}, 5, 5},
		// Completed at 298 s: the export follows within a minute. Look
		// again within the 15 s allowed (5 % of 300 s), less a second.
		{"completed: within the allowed lateness", n, []pollStep{
			{at: 5, status: StatusProcessing, done: 0, updated: 2},
			{at: 300, status: StatusCompleted, updated: 298},
		}, 13.9, 14.1},
		// An export a minute and a half late: back off, doubling.
		{"completed for long: backoff", n, []pollStep{
			{at: 5, status: StatusProcessing, done: 0, updated: 2},
			{at: 300, status: StatusCompleted, updated: 298},
			{at: 388, status: StatusCompleted, updated: 298},
		}, 89.9, 90.1},
		// 20,000 numbers at 0.2/s: over a day to go, but never more than
		// the cap.
		{"slow: cap", 20000, []pollStep{
			{at: 5, status: StatusProcessing, done: 0, updated: 2},
			{at: 102, status: StatusProcessing, done: 20, updated: 100},
		}, 3600, 3600},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, got := feed(noJitter, c.size, 0, c.steps...)
			require.GreaterOrEqual(t, got, c.lo)
			require.LessOrEqual(t, got, c.hi)
		})
	}
}

// TestPollFloorFromRequest checks that the floor runs from the request, not
// from its answer: after an answer half a second in transit, half a second
// less is left to wait.
func TestPollFloorFromRequest(t *testing.T) {
	pol := noJitter
	pol.Floor = 10 * time.Second
	tr, wait := feed(pol, 100, 0, pollStep{at: 20, status: StatusCompleted, updated: 10})
	require.Equal(t, 10.0, wait)
	asked := 20 + wait
	tr.observe(&Task{ID: "t", Status: StatusCompleted, Total: 100, Success: 100, CreatedAt: pollEpoch, UpdatedAt: pollAt(10)}, pollAt(asked+0.5))
	require.InDelta(t, 9.5, tr.next(pollAt(asked+0.5)).Seconds(), 1e-6)
}

// TestPollStall checks that a stall is met with backoff, not with calls at
// the floor, and that progress after it is measured afresh.
func TestPollStall(t *testing.T) {
	steps := []pollStep{
		{at: 5, status: StatusProcessing, done: 0, updated: 2},
		{at: 20.1, status: StatusProcessing, done: 150, updated: 20},
		{at: 60, status: StatusProcessing, done: 250, updated: 30}, // quiet since 30 s
	}
	_, first := feed(noJitter, 10000, 0, steps...)
	require.Greater(t, first, 30.0, "a stall is idle time, which is a third of the task at most")
	steps = append(steps, pollStep{at: 60 + first, status: StatusProcessing, done: 250, updated: 30})
	tr, second := feed(noJitter, 10000, 0, steps...)
	require.Greater(t, second, first, "backoff while the stall lasts")
	tr.observe(&Task{ID: "t", Status: StatusProcessing, Total: 10000, Success: 400, CreatedAt: pollEpoch, UpdatedAt: pollAt(70 + first + second)}, pollAt(70.1+first+second))
	require.Len(t, tr.points, 1, "the stretch across the stall is not a speed")
}

// TestPollSkew checks that the upstream's clock being off changes nothing:
// speeds use differences of its times, and its times are placed on the
// local clock by the least gap seen.
func TestPollSkew(t *testing.T) {
	steps := []pollStep{
		{at: 5, status: StatusProcessing, done: 0, updated: 2},
		{at: 100.2, status: StatusProcessing, done: 1000, updated: 100},
		{at: 600.3, status: StatusProcessing, done: 6000, updated: 600},
	}
	_, want := feed(noJitter, 10000, 0, steps...)
	for _, skew := range []float64{-5, -0.5, 3, 5} {
		_, got := feed(noJitter, 10000, skew, steps...)
		require.InDelta(t, want, got, 1e-6, "skew %v s", skew)
	}
}

// TestPollJitter checks that jitter only shortens a wait, by at most its
// share of the allowed lateness, and never below the floor.
func TestPollJitter(t *testing.T) {
	steps := []pollStep{
		{at: 5, status: StatusProcessing, done: 0, updated: 2},
		{at: 100.2, status: StatusProcessing, done: 1000, updated: 100},
	}
	tr, exact := feed(noJitter, 10000, 0, steps...)
	slack := tr.slack(tr.earliestEnd()).Seconds()
	seen := map[float64]bool{}
	for seed := range uint64(200) {
		_, got := feedSeed(DefaultPollPolicy(), 10000, 0, seed, steps...)
		require.LessOrEqual(t, got, exact)
		require.GreaterOrEqual(t, got, exact-DefaultPollPolicy().Jitter*slack)
		seen[got] = true
	}
	require.Greater(t, len(seen), 100, "jitter spreads the waits")

	// At the floor there is nothing to take off.
	_, got := feed(DefaultPollPolicy(), 100, 0, pollStep{at: 20, status: StatusCompleted, updated: 10})
	require.Equal(t, DefaultPollPolicy().Floor.Seconds(), got)
}

// TestPollResume checks a tracker that starts from the journal's created_at
// without the creation answer, as after a restart.
func TestPollResume(t *testing.T) {
	tr := newPollTracker(noJitter, 10000, pollEpoch, 1)
	tr.observe(&Task{ID: "t", Status: StatusProcessing, Total: 10000, Success: 4000, CreatedAt: pollEpoch, UpdatedAt: pollAt(399.9)}, pollAt(400))
	hop := tr.next(pollAt(400)).Seconds()
	require.Greater(t, hop, 5.0)
	require.Less(t, hop, 600.0, "one count: the speed is not known yet")
	tr.observe(&Task{ID: "t", Status: StatusProcessing, Total: 10000, Success: 5000, CreatedAt: pollEpoch, UpdatedAt: pollAt(400 + hop - 0.1)}, pollAt(400+hop))
	require.Greater(t, tr.next(pollAt(400+hop)).Seconds(), 200.0, "two counts: most of the way")
}

func TestPollEstimateDone(t *testing.T) {
	twoCounts := []pollStep{
		{at: 5, status: StatusProcessing, done: 0, updated: 2},
		{at: 102, status: StatusProcessing, done: 1000, updated: 102},
	}
	for _, c := range []struct {
		name      string
		size      int
		steps     []pollStep
		at        float64
		want      int
		estimated bool
	}{
		{"pending: nothing", 1000, []pollStep{{at: 10, status: StatusPending}}, 20, 0, false},
		{"started, no count", 1000, twoCounts[:1], 20, 0, false},
		{"the upstream's own figure", 10000, twoCounts, 102, 1000, false},
		{"extrapolated at 10/s", 10000, twoCounts, 112, 1100, true},
		{"never the whole", 1100, twoCounts, 500, 1099, true},
		// One count after pending: the speed since the last pending answer,
		// an understatement by however long pending went on.
		{"one count", 10000, []pollStep{{at: 10, status: StatusPending}, {at: 30, status: StatusProcessing, done: 100, updated: 30}}, 40, 150, true},
		// Quiet since 30 s: no progress is shown past the stall's start,
		// a number and a half's time after the last count.
		{"stalled", 10000, []pollStep{
			{at: 5, status: StatusProcessing, done: 0, updated: 2},
			{at: 20.1, status: StatusProcessing, done: 150, updated: 20},
			{at: 30.1, status: StatusProcessing, done: 250, updated: 30},
			{at: 90, status: StatusProcessing, done: 250, updated: 30},
		}, 120, 251, true},
		{"completed", 1000, []pollStep{{at: 100, status: StatusCompleted, updated: 99}}, 110, 1000, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, _ := feed(noJitter, c.size, 0, c.steps...)
			got, est := tr.estimateDone(pollAt(c.at))
			require.Equal(t, c.want, got)
			require.Equal(t, c.estimated, est)
		})
	}
}

// TestPollPriorTask checks the task the prior describes: it takes four looks
// at most, and its export is noticed in time.
func TestPollPriorTask(t *testing.T) {
	// A 20,000-number task at the prior speed, 11.5/s, pending 3 s,
	// exported 10 s after its last number: the looks it takes.
	task := &simTask{dur: 3 + 20000/11.5 + 10, pending: 3, proc: 20000 / 11.5, export: 10, size: 20000, latency: 0.2}
	task.segs = []simSeg{{t0: 0, t1: task.proc, m: 1}}
	task.work = task.proc
	r := task.watch(noJitter, 1)
	require.LessOrEqual(t, r.calls, 4, "%+v", r)
	require.LessOrEqual(t, r.late, task.allowed())
}
