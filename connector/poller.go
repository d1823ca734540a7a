package connector

import (
	"math"
	"math/rand/v2"
	"time"
)

// PollPolicy bounds how often a task's status is fetched. Every status call
// is charged, so the poller waits as long as it safely can: it keeps the
// earliest plausible moment of the task's export and looks again when the
// lateness allowed past that moment is about to run out. docs/polling.md
// describes the schedule and its measured cost.
//
// Defaults apply field by field: a zero field takes the value of
// DefaultPollPolicy, so no field left at zero can mean "no wait".
type PollPolicy struct {
	Floor     time.Duration // least time between two status calls; also the least lateness allowed (0: 5 s)
	Cap       time.Duration // most time between two status calls (0: 1 h; never below Floor)
	PriorRate float64       // numbers per second assumed before any progress is seen (0: 11.5)
	Spread    float64       // the true speed may be PriorRate times or divided by this (below 1: 100)
	Late      float64       // lateness allowed past the export, as a fraction of the task's age (0: 0.05)
	Jitter    float64       // up to this fraction of the allowed lateness is taken off a wait at random, so parallel tasks spread out (0: 0.1; negative: none)
	// ExportMin is the least time the upstream takes to export a result
	// after its last number (0: 2 s; negative: none, for an instant sandbox).
	ExportMin time.Duration
}

// DefaultPollPolicy is the policy of a new job: the upstream's observed speed
// as the prior (20,000 numbers in ~29 minutes), trusted only to within 100x;
// an export noticed within 5 s or 5 % of the task's duration.
func DefaultPollPolicy() PollPolicy {
	return PollPolicy{Floor: 5 * time.Second, Cap: time.Hour, PriorRate: 11.5, Spread: 100, Late: 0.05, Jitter: 0.1, ExportMin: 2 * time.Second}
}

// withDefaults fills each zero field from DefaultPollPolicy.
func (p PollPolicy) withDefaults() PollPolicy {
	d := DefaultPollPolicy()
	if p.Floor <= 0 {
		p.Floor = d.Floor
	}
	if p.Cap <= 0 {
		p.Cap = d.Cap
	}
	p.Cap = max(p.Cap, p.Floor)
	if !(p.PriorRate > 0) {
		p.PriorRate = d.PriorRate
	}
	if !(p.Spread >= 1) {
		p.Spread = d.Spread
	}
	if !(p.Late > 0) {
		p.Late = d.Late
	}
	switch {
	case p.Jitter == 0 || p.Jitter != p.Jitter:
		p.Jitter = d.Jitter
	case p.Jitter < 0:
		p.Jitter = 0
	}
	p.Jitter = min(p.Jitter, 1)
	switch {
	case p.ExportMin == 0:
		p.ExportMin = d.ExportMin
	case p.ExportMin < 0:
		p.ExportMin = 0
	}
	return p
}

// What the poller assumes of the upstream beyond its contract; the
// simulation in poller_sim_test.go draws its tasks within them. A task that
// breaks them may be noticed later than Late allows, never lost.
const (
	// Pending and stalls together take at most this share of a task, so
	// that a task seen idle for t seconds lasts 3t at least.
	idleShare = 1.0 / 3
	// A count is dated when it was reached, and reaches the answers within
	// publishLag seconds; a count seen older than that at receipt means
	// progress has stalled. An upstream that publishes counts in batches
	// shows it by new counts arriving older than that, again and again: up
	// to maxPublishLag, the poller then allows as much.
	publishLag    = 1.0
	maxPublishLag = 5.0
	// Exporting takes at least PollPolicy.ExportMin after the last number
	// and normally under exportUsual seconds; past that, the poller backs off.
	exportUsual = 60.0
	// The rest of a task may run this much faster than one stretch of it
	// showed: noise, or a short stall inside the stretch.
	speedup = 0.5
	// A task's first count must be within this of what the first stretch's
	// speed implies; if not, the stretch hid a stall and is not trusted.
	firstCheck = 0.25
	// A stretch of noiseTime seconds runs within noiseLevel of the task's
	// average speed; longer stretches average out as the square root.
	noiseLevel = 0.2
	noiseTime  = 30.0
	// Speed seen to stray between stretches is allowed spreadK times over,
	// scaled to the time still to go; the margin stays within these bounds.
	spreadK   = 2.0
	marginMin = 0.03
	marginMax = 1.0
	// A stall hidden between two answers lasts at most stallMax seconds and
	// stallShare of the processing.
	stallMax   = 30.0
	stallShare = 0.05
	// Counts kept per task: the first and the latest.
	maxPoints = 16
)

// point is one published progress count.
type point struct {
	done int
	at   time.Time // updated_at, upstream clock
}

// pollTracker follows one task and says when to look at it again. Not safe
// for concurrent use.
type pollTracker struct {
	policy  PollPolicy
	size    int       // numbers uploaded
	created time.Time // created_at, upstream clock
	// offset is local minus upstream time, at most: the least gap between an
	// answer's receipt and its updated_at. updated_at can only lag the
	// upstream's present, so the least gap is the tightest bound, and the
	// creation answer's is the request's latency alone: skew cancels, and
	// an answer that arrives late cannot loosen it. Speeds use differences
	// of upstream times and need no offset at all.
	offset    time.Duration
	hasOffset bool
	status    Status
	total     int
	seenAt    time.Time // local receipt of the last answer
	asked     time.Time // local time the last answer was asked for
	nextAsk   time.Time // local time the next request is due
	// The task was last known idle (pending, or stalled) at idleAt (local)
	// with idleDone numbers done; idle is how long in all it is known to
	// have been idle.
	idleAt   time.Time
	idleDone int
	idle     float64
	lags     [2]float64 // seconds: the two oldest new counts have been at receipt, past a number's time
	// A stall under way: no news from stallFrom until stallSeen at least.
	stallFrom, stallSeen time.Time
	points               []point   // counts published since idleAt, ascending
	completed            time.Time // updated_at of the completed answer, upstream clock
	exportMin            float64   // seconds: policy.ExportMin
	rnd                  *rand.Rand
}

func newPollTracker(p PollPolicy, size int, created time.Time, seed uint64) *pollTracker {
	p = p.withDefaults()
	return &pollTracker{policy: p, size: size, created: created, exportMin: p.ExportMin.Seconds(), rnd: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

func (p *pollTracker) local(up time.Time) time.Time { return up.Add(p.offset) }

// secs converts seconds to a Duration, saturating far beyond any task.
func secs(s float64) time.Duration {
	if !(s < 1e9) {
		return 1e9 * time.Second
	}
	return time.Duration(s * float64(time.Second))
}

func (p *pollTracker) expected() int {
	if p.total > 0 {
		return p.total
	}
	return max(p.size, 1)
}

func (p *pollTracker) fastest() float64 { return p.policy.PriorRate * p.policy.Spread }
func (p *pollTracker) slowest() float64 { return p.policy.PriorRate / p.policy.Spread }

// observe takes a status answer received at local time now.
func (p *pollTracker) observe(t *Task, now time.Time) {
	if p.created.IsZero() {
		p.created = t.CreatedAt
	}
	at := t.UpdatedAt
	if at.IsZero() {
		at = now.Add(-p.offset)
	}
	if gap := now.Sub(at); !p.hasOffset || gap < p.offset {
		p.offset, p.hasOffset = gap, true
	}
	if p.created.IsZero() {
		p.created = now.Add(-p.offset)
	}
	if p.idleAt.IsZero() {
		p.idleAt = p.local(p.created)
	}
	p.status, p.seenAt = t.Status, now
	// The request went out when the last wait ended, unless that is not
	// behind us.
	p.asked = now
	if !p.nextAsk.IsZero() && !p.nextAsk.After(now) {
		p.asked = p.nextAsk
	}
	if t.Total > 0 {
		p.total = t.Total
	}
	switch t.Status {
	case StatusPending:
		p.idleAt, p.idleDone, p.points = now, 0, nil
		p.idle = max(now.Sub(p.local(p.created)).Seconds(), 0)
		p.stallFrom, p.stallSeen = time.Time{}, time.Time{}
	case StatusProcessing:
		p.progress(min(t.Done(), p.expected()), at, now)
	case StatusCompleted:
		if p.completed.IsZero() {
			p.completed = at
		}
	}
}

// progress takes a processing answer: a new count, the start of processing,
// or no news, which past the longest the next number should take is a stall.
func (p *pollTracker) progress(done int, at, now time.Time) {
	n := len(p.points)
	lastDone, lastAt := p.idleDone, p.idleAt
	if n > 0 {
		lastDone, lastAt = p.points[n-1].done, p.local(p.points[n-1].at)
	}
	switch {
	case done > lastDone && (n == 0 || at.After(p.points[n-1].at)):
		if !p.stallSeen.IsZero() {
			// The stretch since the last count held a stall: its speed
			// means nothing. Start afresh from the stall, as from pending.
			p.idle += p.stallSeen.Sub(p.stallFrom).Seconds()
			p.idleAt, p.idleDone, p.points = p.stallSeen, lastDone, nil
			p.stallFrom, p.stallSeen = time.Time{}, time.Time{}
		}
		if len(p.points) == maxPoints {
			p.points = append(p.points[:1], p.points[2:]...)
		}
		p.points = append(p.points, point{done, at})
		// How much older than a number's time the count came.
		if lag := now.Sub(p.local(at)).Seconds() - p.gap()/(1+speedup); lag > p.lags[1] {
			p.lags = [2]float64{max(lag, p.lags[0]), min(lag, p.lags[0])}
		}
		p.quiet(p.local(at), now)
	case done == 0 && n == 0 && p.local(at).After(p.idleAt):
		// updated_at moved with no count: processing began then.
		p.idle += p.local(at).Sub(p.idleAt).Seconds()
		p.idleAt = p.local(at)
		p.points = append(p.points, point{0, at})
	case done == lastDone:
		p.quiet(lastAt, now)
	}
}

// quiet notes a stall if the last count, reached at at, is older at receipt
// now than the next number should take.
func (p *pollTracker) quiet(at, now time.Time) {
	from, seen := at.Add(secs(p.gap())), now.Add(-secs(p.publishLag()))
	if seen.After(from) {
		p.stallFrom, p.stallSeen = from, seen
	}
}

// publishLag is how old a count may be at receipt without a stall: more
// than publishLag if new counts have come older twice, since once may be a
// stall that began just after the count.
func (p *pollTracker) publishLag() float64 { return min(max(p.lags[1], publishLag), maxPublishLag) }

// gap is the longest the next number should take after the last count.
func (p *pollTracker) gap() float64 {
	longest := (1 + speedup) / p.slowest()
	if est, _, ok := p.rate(); ok {
		return min((1+speedup)/est, longest)
	}
	if n := len(p.points); n > 0 && p.points[n-1].done > p.idleDone {
		last := p.points[n-1]
		run := p.local(last.at).Sub(p.idleAt).Seconds()
		return min(max(run, 0)*(1+speedup)/float64(last.done-p.idleDone), longest)
	}
	return longest
}

// runFor is the least time all the numbers take, given that none is done e
// seconds after processing began: a stall before the first is at most
// stallMax and stallShare of the whole, and the first takes at most speedup
// longer than its share.
func (p *pollTracker) runFor(e float64) float64 {
	if e <= 0 {
		return 0
	}
	each := (1 + speedup) / float64(p.expected())
	if t := e / (stallShare + each); stallShare*t <= stallMax {
		return t
	}
	return (e - stallMax) / each
}

// rate is the measured speed in numbers per second and the fastest the rest
// of the task may plausibly run; ok is false without two counts to compare,
// or when the one stretch between them is not to be trusted.
func (p *pollTracker) rate() (est, fast float64, ok bool) {
	n := len(p.points)
	if n < 2 {
		return 0, 0, false
	}
	first, last := p.points[0], p.points[n-1]
	span := last.at.Sub(first.at).Seconds()
	est = float64(last.done-first.done) / span
	rest := float64(p.expected()-last.done) / est
	// Counts published in batches are dated up to the batching late: the
	// stretch may be that much shorter.
	all := float64(last.done-first.done) / max(span-(p.publishLag()-publishLag), span/2)
	if n == 2 {
		// One stretch: the first count must have taken about as long as it
		// would at this speed since the task was last idle. If not, the
		// stretch hid a stall; if so, the first count's own speed (which
		// any idle time in it understates) bounds the speed too.
		run := p.local(first.at).Sub(p.idleAt).Seconds()
		if run*(1+firstCheck) < float64(first.done-p.idleDone)/est {
			return est, 0, false
		}
		if run > 0 {
			all = max(all, float64(first.done-p.idleDone)/run)
		}
	} else {
		// Several stretches: a stall may hide in them, at most this long.
		hidden := min(stallMax, stallShare*float64(p.expected()-p.idleDone)/est, span/4)
		all = max(all, float64(last.done-first.done)/(span-hidden))
	}
	// The stretch measured and the rest each stray by noise; the speed seen
	// to stray between stretches counts too, scaled to the rest.
	margin := (1+noise(rest))/(1-noise(span)) - 1
	for i := 1; i < n; i++ {
		a, b := p.points[i-1], p.points[i]
		w := b.at.Sub(a.at).Seconds()
		dev := math.Abs(float64(b.done-a.done)/w/est - 1)
		margin = max(margin, spreadK*dev*math.Sqrt(w/max(rest, 1)))
	}
	return est, all * (1 + min(max(margin, marginMin), marginMax)), true
}

// noise is how far from its average speed a stretch of s seconds may run.
func noise(s float64) float64 {
	return noiseLevel * min(1, math.Sqrt(noiseTime/max(s, 1)))
}

// earliestEnd is the earliest plausible local time of the export.
func (p *pollTracker) earliestEnd() time.Time {
	c := p.local(p.created)
	sec := func(t time.Time) float64 { return t.Sub(c).Seconds() }
	n := float64(p.expected())
	base, idle := sec(p.idleAt), p.idle
	if !p.stallSeen.IsZero() {
		idle += p.stallSeen.Sub(p.stallFrom).Seconds()
	}
	// end bounds the export itself: not seen yet, and idle time is at most
	// a share of the task. done bounds the last number, which the export
	// follows by ExportMin: no sooner than at the fastest plausible speed.
	end, done := max(sec(p.seenAt), idle/idleShare), base+(n-float64(p.idleDone))/p.fastest()
	switch p.status {
	case StatusCompleted, StatusExported:
		if !p.completed.IsZero() {
			done = max(done, sec(p.local(p.completed)))
		}
	case StatusProcessing:
		k := len(p.points)
		if k == 0 {
			break
		}
		last := p.points[k-1]
		// A count is exact at its updated_at. At receipt it is less than a
		// number behind, which matters while progress stalls: all the rest
		// but one is still to do.
		at, left, now := sec(p.local(last.at)), n-float64(last.done), sec(p.seenAt)-p.publishLag()
		if _, fast, ok := p.rate(); ok {
			done = max(done, at+left/fast, now+(left-1)/fast)
			break
		}
		if last.done <= p.idleDone {
			// Processing began at at and nothing is done since, allowing
			// for a first count published late.
			done = max(done, at+p.runFor(sec(p.seenAt)-maxPublishLag-at))
			break
		}
		// One count since the task was last idle, which it stayed until
		// some moment s between base and at: the later s, the faster the
		// task runs, but the longer it was idle. Take the earliest end over
		// the possible s, where the rising and falling bounds cross.
		run := float64(last.done - p.idleDone)
		per := left / run / (1 + speedup)        // seconds to go per second run, from at
		per1 := (left - 1) / run / (1 + speedup) // and from now
		cross := func(from, per float64) float64 {
			return (from + per*at + p.exportMin - (idle-base)/idleShare) / (1/idleShare + per)
		}
		s := min(max(cross(at, per), cross(now, per1), base), at)
		end = max(end, (idle+s-base)/idleShare, at+per*(at-s)+p.exportMin, now+per1*(at-s)+p.exportMin)
	}
	return c.Add(secs(max(end, done+p.exportMin)))
}

// slack is the lateness allowed for a task that ends at end.
func (p *pollTracker) slack(end time.Time) time.Duration {
	return max(p.policy.Floor, secs(p.policy.Late*end.Sub(p.local(p.created)).Seconds()))
}

// next is how long to wait before the next status call, from local time now.
func (p *pollTracker) next(now time.Time) time.Duration {
	end := p.earliestEnd()
	// Aim a little inside the allowed lateness: the answer takes time to
	// arrive, and the clocks are known only to that precision.
	slack := p.slack(end)
	at := end.Add(slack - min(slack/5, time.Second))
	if p.status == StatusCompleted && !p.completed.IsZero() {
		// An export that takes unusually long: back off, doubling.
		if over := p.seenAt.Sub(p.local(p.completed)); over > secs(exportUsual) && p.seenAt.Add(over).After(at) {
			at = p.seenAt.Add(over)
		}
	}
	// The floor runs from the last request, sent before its answer came.
	floor := p.policy.Floor - min(max(now.Sub(p.asked), 0), p.policy.Floor)
	d := at.Sub(now)
	if p.policy.Jitter > 0 && d > floor {
		// Only ever earlier, since later could miss the allowed lateness,
		// and by a share of that lateness, not of the wait.
		d -= time.Duration(p.rnd.Float64() * p.policy.Jitter * float64(min(d-floor, slack)))
	}
	d = min(max(d, floor), p.policy.Cap)
	p.nextAsk = now.Add(d)
	return d
}

// estimateDone extrapolates the numbers done at local time now from the
// measured speed, for progress display between calls. estimated is false
// when the figure is the upstream's own.
func (p *pollTracker) estimateDone(now time.Time) (done int, estimated bool) {
	switch p.status {
	case StatusCompleted, StatusExported:
		return p.expected(), false
	case StatusProcessing:
	default:
		return 0, false
	}
	n := len(p.points)
	if n == 0 || p.points[n-1].done <= p.idleDone {
		return p.idleDone, false
	}
	last := p.points[n-1]
	r, _, ok := p.rate()
	if !ok {
		// One count since the task was last idle: the speed since then,
		// which any idle time in it understates.
		r = float64(last.done-p.idleDone) / max(p.local(last.at).Sub(p.idleAt).Seconds(), 1)
	}
	until := now
	if !p.stallSeen.IsZero() && p.stallFrom.Before(until) {
		until = p.stallFrom // no progress past a stall seen
	}
	extra := int(r * until.Sub(p.local(last.at)).Seconds())
	if extra <= 0 {
		return last.done, false
	}
	// Never the whole: only the upstream says when it is done.
	return max(last.done, min(last.done+extra, p.expected()-1)), true
}

// eta estimates the time left until the task's last number is done, from
// the measured speed; ok is false while there is none to go by.
func (p *pollTracker) eta(now time.Time) (left time.Duration, ok bool) {
	switch p.status {
	case StatusCompleted, StatusExported:
		return 0, true
	case StatusProcessing:
	default:
		return 0, false
	}
	n := len(p.points)
	if n == 0 || p.points[n-1].done <= p.idleDone {
		return 0, false
	}
	r, _, measured := p.rate()
	if !measured {
		last := p.points[n-1]
		r = float64(last.done-p.idleDone) / max(p.local(last.at).Sub(p.idleAt).Seconds(), 1)
	}
	if r <= 0 {
		return 0, false
	}
	done, _ := p.estimateDone(now)
	return secs(float64(p.expected()-done) / r), true
}
