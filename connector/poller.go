package connector

import (
	"math/rand/v2"
	"time"
)

// PollPolicy bounds how often a task's status is fetched. Every status call
// is charged, so the poller waits as long as it safely can: it estimates the
// task's end from the progress the answers carry and looks again near it.
type PollPolicy struct {
	Floor     time.Duration // never sooner than this after the last look
	Cap       time.Duration // never later than this
	PriorRate float64       // numbers per second assumed before any progress is seen
	Jitter    float64       // ± fraction of each wait, so parallel tasks spread out
}

// DefaultPoll is the policy of a new job: the upstream's observed speed as the
// prior (20,000 numbers in ~29 minutes).
var DefaultPoll = PollPolicy{Floor: 5 * time.Second, Cap: 30 * time.Minute, PriorRate: 11.5, Jitter: 0.05}

// observation is one status answer, timed by the upstream's clock.
type observation struct {
	at   time.Time // the task's updated_at (or the local time if missing)
	done int
}

// pollTracker follows one task and says when to look at it again. Not safe
// for concurrent use.
type pollTracker struct {
	policy  PollPolicy
	size    int       // numbers uploaded
	created time.Time // when the task was created (upstream clock)
	seenAt  time.Time // local time of the last answer
	status  Status
	total   int
	first   *observation // first answer with progress
	last    *observation // latest answer with progress
	waits   int          // looks since the status last changed
	rnd     *rand.Rand
}

func newPollTracker(p PollPolicy, size int, created time.Time, seed uint64) *pollTracker {
	return &pollTracker{policy: p, size: size, created: created, rnd: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

// observe takes a status answer received at local time now.
func (p *pollTracker) observe(t *Task, now time.Time) {
	if t.Status != p.status {
		p.waits = 0
	} else {
		p.waits++
	}
	p.status, p.seenAt = t.Status, now
	if t.Total > 0 {
		p.total = t.Total
	}
	if p.created.IsZero() {
		p.created = t.CreatedAt
		if p.created.IsZero() {
			p.created = now
		}
	}
	at := t.UpdatedAt
	if at.IsZero() {
		at = now
	}
	if t.Status == StatusProcessing && t.Done() > 0 {
		o := &observation{at: at, done: t.Done()}
		if p.first == nil {
			p.first = o
		}
		if p.last == nil || o.done > p.last.done {
			p.last = o
		}
	}
}

// rate is the estimated speed in numbers per second, and whether it rests on
// the task's own progress.
func (p *pollTracker) rate() (float64, bool) {
	if p.first != nil && p.last != nil && p.last.done > p.first.done {
		if dt := p.last.at.Sub(p.first.at).Seconds(); dt > 0 {
			return float64(p.last.done-p.first.done) / dt, true
		}
	}
	if p.last != nil {
		// One point: progress since creation. The pending time inside it makes
		// this an underestimate of the speed, which errs toward looking early.
		if dt := p.last.at.Sub(p.created).Seconds(); dt > 0 {
			return float64(p.last.done) / dt, true
		}
	}
	return p.policy.PriorRate, false
}

func (p *pollTracker) expected() int {
	if p.total > 0 {
		return p.total
	}
	return p.size
}

// remaining estimates the time until the task's last number is done,
// counted from now.
func (p *pollTracker) remaining(now time.Time) time.Duration {
	r, _ := p.rate()
	if r <= 0 {
		return p.policy.Cap
	}
	done, at := 0, p.created
	if p.last != nil {
		done, at = p.last.done, p.last.at
	}
	end := at.Add(time.Duration(float64(p.expected()-done) / r * float64(time.Second)))
	return end.Sub(now)
}

// next is how long to wait before the next status call, from local time now.
func (p *pollTracker) next(now time.Time) time.Duration {
	var d time.Duration
	switch p.status {
	case StatusCompleted:
		// Exporting takes a short, unknown while: back off from the floor.
		d = p.policy.Floor << min(p.waits, 6)
	case StatusPending, "":
		// No progress yet: look soon, since the first answer with progress
		// is what every estimate rests on; back off while it stays pending.
		d = p.policy.Floor << min(p.waits, 8)
	default:
		rem := p.remaining(now)
		_, measured := p.rate()
		switch {
		case rem <= 0:
			d = p.policy.Floor << min(p.waits, 6)
		case !measured:
			d = rem / 4
		default:
			// Aim just past the estimated end when it is near; otherwise at
			// most of the way there, so one more look corrects the estimate.
			elapsed := now.Sub(p.created)
			tol := max(p.policy.Floor, (elapsed+rem)/20)
			if rem <= 2*tol {
				d = rem + tol/2
			} else {
				d = rem * 9 / 10
			}
		}
	}
	if p.policy.Jitter > 0 {
		d += time.Duration((p.rnd.Float64()*2 - 1) * p.policy.Jitter * float64(d))
	}
	return min(max(d, p.policy.Floor), p.policy.Cap)
}

// estimateDone extrapolates the numbers done at local time now from the
// estimated speed, for progress display between calls. estimated is false
// when the figure is the upstream's own, just seen.
func (p *pollTracker) estimateDone(now time.Time) (done int, estimated bool) {
	switch p.status {
	case StatusCompleted, StatusExported:
		return p.expected(), false
	}
	if p.last == nil {
		return 0, false
	}
	r, measured := p.rate()
	if !measured {
		return p.last.done, false
	}
	since := now.Sub(p.seenAt)
	if since <= 0 {
		return p.last.done, false
	}
	extra := int(r * since.Seconds())
	return min(p.last.done+extra, p.expected()), extra > 0
}
