package connector

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The simulation runs the poll schedule against modelled upstream tasks on a
// virtual clock, as run.go's watch does, and against the upstream's sample
// code (a status call every 5 s). Times are seconds on the local clock from
// the moment the task was created; the upstream stamps its answers with its
// own clock, skew seconds behind. Nothing sleeps: a few hundred tasks take
// milliseconds.

// simModel says how tasks are drawn; defaultSimModel documents the choices.
type simModel struct {
	minDur, maxDur float64 // whole task, creation to export, log-spaced
	prior          float64 // numbers per second the poller assumes
	spread         float64 // true speed: prior times or divided by up to this
	maxPending     float64 // seconds
	pendingShare   float64 // pending is at most a share of the task drawn up to this
	typicalExport  float64 // seconds: most exports take 2 s to this
	maxExport      float64 // seconds: one in five takes up to this
	exportShare    float64 // of the task, at most (but 2 s at least)
	noise          float64 // ± fraction of the speed, per stretch
	noiseTime      float64 // mean length of a stretch of constant speed, seconds
	stallP         float64 // chance a task stalls once
	maxStall       float64 // seconds
	stallShare     float64 // of the processing, at most
	maxSkew        float64 // ± seconds between the clocks
	batchP         float64 // chance a task publishes progress on a 1 to 5 s grid
}

// defaultSimModel follows the upstream facts and the brief: tasks of 10 s
// to 2 h; the speed anywhere from 1/100 to 100 times the 11.5/s prior (so
// the size, 1 to 20,000 numbers, follows from speed and duration); pending
// half the time a second or two, else up to a minute and now and then up to
// three, and never more than a third of the task; exporting 2 to 15 s, one
// in five up to a minute, and never more than a tenth of the task; speed
// noise of ±20 % over stretches of about 10 s; one task in seven stalls
// once, for 3 to 30 s; clocks up to 5 s apart; answers 50 to 500 ms in
// transit. updated_at is exact when progress happens, as the upstream says.
var defaultSimModel = simModel{
	minDur: 10, maxDur: 7200, prior: 11.5, spread: 100,
	maxPending: 180, pendingShare: 1.0 / 3,
	typicalExport: 15, maxExport: 60, exportShare: 0.1,
	noise: 0.2, noiseTime: 10,
	stallP: 0.15, maxStall: 30, stallShare: 0.05,
	maxSkew: 5,
}

// simTask is one modelled upstream task.
type simTask struct {
	dur     float64 // creation to export: the task's real duration
	pending float64 // creation to the start of processing
	proc    float64 // processing, stalls included
	export  float64 // completed to exported
	size    int
	skew    float64  // local minus upstream clock
	publish float64  // progress is published on this grid, seconds (0: as it happens)
	latency float64  // from the upstream's answer to its receipt
	segs    []simSeg // processing speed, piecewise constant
	work    float64  // the segments' work in all
	stalled bool
}

// simSeg runs at relative speed m from t0 to t1 of processing; w0 is the work
// done before it.
type simSeg struct{ t0, t1, m, w0 float64 }

var simEpoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return lo * math.Exp(r.Float64()*math.Log(hi/lo))
}

// tasks draws n tasks with log-spaced durations, deterministically.
func (m simModel) tasks(n int, seed uint64) []*simTask {
	out := make([]*simTask, n)
	for i := range out {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		out[i] = m.task(r, m.minDur*math.Pow(m.maxDur/m.minDur, float64(i)/float64(max(n-1, 1))))
	}
	return out
}

func (m simModel) task(r *rand.Rand, dur float64) *simTask {
	t := &simTask{dur: dur}
	pend := 2 * r.Float64()
	switch u := r.Float64(); {
	case u < 0.35:
		pend = logUniform(r, 2, 60)
	case u < 0.5:
		pend = logUniform(r, 60, m.maxPending)
	}
	t.pending = min(pend, (0.05+(m.pendingShare-0.05)*r.Float64())*dur)
	exp := logUniform(r, 2, m.typicalExport)
	if r.Float64() < 0.2 {
		exp = logUniform(r, m.typicalExport, m.maxExport)
	}
	t.export = min(exp, max(2, m.exportShare*dur))
	t.proc = dur - t.pending - t.export
	t.size = min(max(int(math.Round(m.prior*logUniform(r, 1/m.spread, m.spread)*t.proc)), 1), 20000)
	t.skew = (2*r.Float64() - 1) * m.maxSkew
	t.latency = 0.05 + 0.45*r.Float64()
	if r.Float64() < m.batchP {
		t.publish = 1 + 4*r.Float64()
	}
	var stall [2]float64
	if r.Float64() < m.stallP {
		l := min(logUniform(r, 3, m.maxStall), m.stallShare*t.proc)
		s := r.Float64() * (t.proc - l)
		stall, t.stalled = [2]float64{s, s + l}, true
	}
	cut := func(a, b, mult float64) {
		if b > a {
			t.segs = append(t.segs, simSeg{t0: a, t1: b, m: mult})
		}
	}
	mean := min(m.noiseTime, max(t.proc/5, 1))
	for a := 0.0; a < t.proc; {
		b := min(a-mean*math.Log(1-r.Float64()), t.proc)
		mult := 1 + m.noise*(2*r.Float64()-1)
		if stall[1] > a && stall[0] < b {
			cut(a, max(a, stall[0]), mult)
			cut(max(a, stall[0]), min(b, stall[1]), 0)
			cut(min(b, stall[1]), b, mult)
		} else {
			cut(a, b, mult)
		}
		a = b
	}
	for i := range t.segs {
		t.segs[i].w0 = t.work
		t.work += (t.segs[i].t1 - t.segs[i].t0) * t.segs[i].m
	}
	return t
}

// doneAt is the numbers done tau seconds into processing.
func (t *simTask) doneAt(tau float64) int {
	if tau <= 0 {
		return 0
	}
	i, _ := slices.BinarySearchFunc(t.segs, tau, func(s simSeg, x float64) int {
		switch {
		case s.t1 <= x:
			return -1
		case s.t0 > x:
			return 1
		}
		return 0
	})
	s := t.segs[min(i, len(t.segs)-1)]
	w := s.w0 + (min(tau, s.t1)-s.t0)*s.m
	return min(int(float64(t.size)*w/t.work), t.size-1)
}

// timeOf is how far into processing the k-th number is done.
func (t *simTask) timeOf(k int) float64 {
	w := float64(k) / float64(t.size) * t.work
	for _, s := range t.segs {
		if s.m > 0 && w <= s.w0+(s.t1-s.t0)*s.m {
			return s.t0 + (w-s.w0)/s.m
		}
	}
	return t.proc
}

func (t *simTask) local(s float64) time.Time { return simEpoch.Add(secs(s)) }
func (t *simTask) stamp(s float64) time.Time { return simEpoch.Add(secs(s - t.skew)) }

// answer is the upstream's answer about the task at local time now.
func (t *simTask) answer(now float64) *Task {
	a := &Task{ID: "sim", Status: StatusPending, CreatedAt: t.stamp(0), UpdatedAt: t.stamp(0)}
	start, end := t.pending, t.pending+t.proc
	switch {
	case now < start:
		return a
	case now < end:
		tau := now - start
		if t.publish > 0 {
			tau = math.Floor(tau/t.publish) * t.publish
		}
		k, at := t.doneAt(tau), 0.0
		if k > 0 {
			at = t.timeOf(k)
			if t.publish > 0 {
				at = math.Ceil(at/t.publish) * t.publish
			}
		}
		a.Status, a.Total, a.Success, a.UpdatedAt = StatusProcessing, t.size, k, t.stamp(start+at)
		return a
	case now < t.dur:
		a.Status, a.UpdatedAt = StatusCompleted, t.stamp(end)
	default:
		a.Status, a.UpdatedAt, a.ResultURL = StatusExported, t.stamp(t.dur), "https://example.invalid/result.xlsx"
	}
	a.Total, a.Success = t.size, t.size
	return a
}

// simResult is how watching one task went.
type simResult struct {
	calls int // status calls; the creation is not one
	// late is how long after the export the status call that saw it was
	// answered; its own transit back, which no schedule can avoid, is not
	// counted.
	late float64
	// Summed error of the displayed count, estimated between calls and as
	// last answered, as fractions of the size, over samples.
	estErr, staleErr float64
	samples          int
}

// watch follows the task with the poller as run.go's watch does.
func (t *simTask) watch(pol PollPolicy, seed uint64) simResult {
	created := t.answer(0)
	now := t.latency
	tr := newPollTracker(pol, t.size, created.CreatedAt, seed)
	tr.observe(created, t.local(now))
	var res simResult
	seen := -1 // the last count answered
	for res.calls < 1000 {
		wait := tr.next(t.local(now)).Seconds()
		// Once a second while processing goes on and a count is known,
		// compare the display's figure with the truth.
		for s := math.Ceil(now); s < now+wait; s++ {
			if seen >= 0 && s < t.pending+t.proc {
				got, _ := tr.estimateDone(t.local(s))
				truth := float64(t.doneAt(s - t.pending))
				res.estErr += math.Abs(float64(got)-truth) / float64(t.size)
				res.staleErr += math.Abs(float64(seen)-truth) / float64(t.size)
				res.samples++
			}
		}
		now += wait
		a := t.answer(now)
		asked := now
		now += t.latency
		res.calls++
		tr.observe(a, t.local(now))
		if a.Status == StatusProcessing && a.Done() > 0 {
			seen = a.Done()
		}
		if a.Status == StatusExported {
			res.late = asked - t.dur
			return res
		}
	}
	res.late = math.Inf(1)
	return res
}

// watchFixed polls every 5 s after each answer, as the upstream's sample
// code does.
func (t *simTask) watchFixed() simResult {
	var res simResult
	for now := t.latency; ; now += t.latency {
		now += 5
		res.calls++
		if now >= t.dur {
			res.late = now - t.dur
			return res
		}
	}
}

// allowed is the lateness target: 5 s or 5 % of the task, whichever is more.
func (t *simTask) allowed() float64 { return max(5, 0.05*t.dur) }

// simRun watches every task with the policy, and with fixed 5 s polling.
func simRun(ts []*simTask, pol PollPolicy) (adaptive, fixed []simResult) {
	for i, t := range ts {
		adaptive = append(adaptive, t.watch(pol, uint64(i)+1))
		fixed = append(fixed, t.watchFixed())
	}
	return adaptive, fixed
}

// simStats sums up results.
type simStats struct {
	tasks                  int
	medianCalls, maxCalls  float64
	meanCalls              float64
	p95LatePct, maxLatePct float64 // lateness, % of the task's duration
	worstLate              float64 // lateness over the target, worst ratio
	overTarget             int     // tasks noticed later than the target
	estErr, staleErr       float64 // mean error of the displayed count, fraction of the size
}

func summarize(ts []*simTask, rs []simResult) simStats {
	s := simStats{tasks: len(rs)}
	if len(rs) == 0 {
		return s
	}
	calls, late := make([]float64, len(rs)), make([]float64, len(rs))
	samples := 0
	for i, r := range rs {
		calls[i], late[i] = float64(r.calls), 100*r.late/ts[i].dur
		s.meanCalls += calls[i] / float64(len(rs))
		s.worstLate = max(s.worstLate, r.late/ts[i].allowed())
		if r.late > ts[i].allowed() {
			s.overTarget++
		}
		s.estErr, s.staleErr, samples = s.estErr+r.estErr, s.staleErr+r.staleErr, samples+r.samples
	}
	if samples > 0 {
		s.estErr, s.staleErr = s.estErr/float64(samples), s.staleErr/float64(samples)
	}
	slices.Sort(calls)
	slices.Sort(late)
	s.medianCalls, s.maxCalls = quantile(calls, 0.5), calls[len(calls)-1]
	s.p95LatePct, s.maxLatePct = quantile(late, 0.95), late[len(late)-1]
	return s
}

func quantile(sorted []float64, q float64) float64 {
	i := q * float64(len(sorted)-1)
	lo := int(i)
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (i-float64(lo))*(sorted[hi]-sorted[lo])
}

const (
	simTasks = 400
	simSeed  = 20250301
)

// TestSimPollingTargets holds the poller to its targets over 400 tasks for
// each of three seeds: a median of 4 status calls per task at most, 8 at
// most for any, and every export noticed within 5 s or 5 % of the task.
func TestSimPollingTargets(t *testing.T) {
	for _, seed := range []uint64{simSeed, simSeed + 1, simSeed + 2} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			ts := defaultSimModel.tasks(simTasks, seed)
			ad, _ := simRun(ts, DefaultPollPolicy())
			for i, r := range ad {
				if tk := ts[i]; r.late > tk.allowed() || r.calls > 8 {
					t.Errorf("task %d: %.0f s (pending %.0f s, export %.0f s), %d numbers, stalled %v: %d calls, noticed %.1f s late (target %.1f s)",
						i, tk.dur, tk.pending, tk.export, tk.size, tk.stalled, r.calls, r.late, tk.allowed())
				}
			}
			s := summarize(ts, ad)
			t.Logf("calls median %.1f, max %.0f, mean %.2f; lateness p95 %.1f %% of the task, worst %.2f of the target; display error %.1f %% estimated, %.1f %% as last answered",
				s.medianCalls, s.maxCalls, s.meanCalls, s.p95LatePct, s.worstLate, 100*s.estErr, 100*s.staleErr)
			require.LessOrEqual(t, s.medianCalls, 4.0, "median status calls per task")
			require.LessOrEqual(t, s.maxCalls, 8.0, "most status calls for a task")
			require.Zero(t, s.overTarget, "tasks noticed later than 5 s or 5 %")
			require.Less(t, s.estErr, s.staleErr/4, "the estimate should beat the last count shown")
		})
	}
}

// simBuckets name tasks by duration for the table.
var simBuckets = []struct {
	name   string
	lo, hi float64
}{{"10s", 10, 25}, {"1m", 25, 150}, {"5m", 150, 750}, {"30m", 750, 3600}, {"2h", 3600, 7201}}

// printSimTable writes calls per task and lateness by duration bucket,
// adaptive against fixed 5 s polling, as a Markdown table.
func printSimTable(w io.Writer, ts []*simTask, ad, fx []simResult) {
	fmt.Fprintln(w, "| duration | tasks | calls/task adaptive: median, mean, max | fixed 5 s: median, mean, max | lateness adaptive: p95, max | fixed 5 s: p95, max |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	row := func(name string, keep func(*simTask) bool) {
		var sts []*simTask
		var a, f []simResult
		for i, t := range ts {
			if keep(t) {
				sts, a, f = append(sts, t), append(a, ad[i]), append(f, fx[i])
			}
		}
		sa, sf := summarize(sts, a), summarize(sts, f)
		fmt.Fprintf(w, "| %s | %d | %.1f, %.1f, %.0f | %.1f, %.1f, %.0f | %.1f %%, %.1f %% | %.1f %%, %.1f %% |\n",
			name, len(sts), sa.medianCalls, sa.meanCalls, sa.maxCalls, sf.medianCalls, sf.meanCalls, sf.maxCalls,
			sa.p95LatePct, sa.maxLatePct, sf.p95LatePct, sf.maxLatePct)
	}
	for _, b := range simBuckets {
		row(b.name, func(t *simTask) bool { return t.dur >= b.lo && t.dur < b.hi })
	}
	row("all", func(*simTask) bool { return true })
}

// TestSimPollingTable prints the table of docs/polling.md when run with -v.
func TestSimPollingTable(t *testing.T) {
	if !testing.Verbose() {
		t.Skip("prints with -v")
	}
	ts := defaultSimModel.tasks(simTasks, simSeed)
	ad, fx := simRun(ts, DefaultPollPolicy())
	printSimTable(os.Stdout, ts, ad, fx)
}

// simVariants bend the model past what the poller assumes, or tell it more,
// to show what that costs; docs/polling.md lists the figures. They are not
// held to the targets.
var simVariants = []struct {
	name string
	bend func(*simModel, *PollPolicy)
}{
	{"as modelled", func(*simModel, *PollPolicy) {}},
	{"speed within 3x of the prior, and the policy told so", func(m *simModel, p *PollPolicy) { m.spread, p.Spread = 3, 3 }},
	{"progress published on a 1-5 s grid (3 tasks in 10)", func(m *simModel, _ *PollPolicy) { m.batchP = 0.3 }},
	{"speed noise over ~30 s stretches", func(m *simModel, _ *PollPolicy) { m.noiseTime = 30 }},
	{"stalls in 1 task in 4, up to 2 min (10 % of processing)", func(m *simModel, _ *PollPolicy) { m.stallP, m.maxStall, m.stallShare = 0.25, 120, 0.1 }},
	{"exports of 2 s to 1 min, up to a quarter of the task", func(m *simModel, _ *PollPolicy) { m.typicalExport, m.exportShare = 60, 0.25 }},
	{"pending up to half the task", func(m *simModel, _ *PollPolicy) { m.pendingShare = 0.5 }},
}

var simSeeds = flag.Int("sim.seeds", 5, "seeds of 400 tasks per model in TestSimPollingVariants")

// TestSimPollingVariants prints, with -v, how the poller fares over
// -sim.seeds seeds of each variant of the model.
func TestSimPollingVariants(t *testing.T) {
	if !testing.Verbose() {
		t.Skip("prints with -v")
	}
	fmt.Println("| model | tasks | calls/task adaptive: median, mean, max | fixed 5 s: median, mean | noticed late | worst lateness / target |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, v := range simVariants {
		m, pol := defaultSimModel, DefaultPollPolicy()
		v.bend(&m, &pol)
		var ts []*simTask
		var ad, fx []simResult
		for seed := uint64(1); seed <= uint64(*simSeeds); seed++ {
			tts := m.tasks(simTasks, seed)
			a, f := simRun(tts, pol)
			ts, ad, fx = append(ts, tts...), append(ad, a...), append(fx, f...)
		}
		sa, sf := summarize(ts, ad), summarize(ts, fx)
		fmt.Printf("| %s | %d | %.1f, %.2f, %.0f | %.1f, %.1f | %d (%.2f %%) | %.2f |\n", v.name, sa.tasks,
			sa.medianCalls, sa.meanCalls, sa.maxCalls, sf.medianCalls, sf.meanCalls, sa.overTarget, 100*float64(sa.overTarget)/float64(sa.tasks), sa.worstLate)
	}
}

// BenchmarkPolling reports calls per task and lateness over 400 modelled
// tasks, for the poller and for fixed 5 s polling.
func BenchmarkPolling(b *testing.B) {
	ts := defaultSimModel.tasks(simTasks, simSeed)
	var ad, fx []simResult
	for b.Loop() {
		ad, fx = simRun(ts, DefaultPollPolicy())
	}
	sa, sf := summarize(ts, ad), summarize(ts, fx)
	b.ReportMetric(sa.medianCalls, "median_calls/task")
	b.ReportMetric(sa.maxCalls, "max_calls/task")
	b.ReportMetric(sa.meanCalls, "mean_calls/task")
	b.ReportMetric(sa.p95LatePct, "p95_late_%")
	b.ReportMetric(sa.worstLate, "worst_late/target")
	b.ReportMetric(sf.medianCalls, "fixed5s_median_calls/task")
	b.ReportMetric(sf.maxCalls, "fixed5s_max_calls/task")
	b.ReportMetric(sf.meanCalls, "fixed5s_mean_calls/task")
	b.ReportMetric(sf.p95LatePct, "fixed5s_p95_late_%")
	b.ReportMetric(sf.worstLate, "fixed5s_worst_late/target")
	b.ReportMetric(0, "ns/op") // the simulation's own time is of no interest
}
