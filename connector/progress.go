package connector

import (
	"context"
	"sync"
	"time"
)

// runState holds a running Job's progress for the Progress callback.
type runState struct {
	job        *Job
	start      time.Time
	startCalls Calls
	mu         sync.Mutex
	chunks     []ChunkProgress
	trackers   map[int]*pollTracker
	reportMu   sync.Mutex // Progress is called by one goroutine at a time
}

func newRunState(j *Job) *runState {
	st := &runState{job: j, start: j.Clock.Now(), startCalls: j.Client.Calls().Snapshot(), trackers: map[int]*pollTracker{}}
	for _, c := range j.Plan.Chunks {
		st.chunks = append(st.chunks, ChunkProgress{Index: c.Index, State: "waiting", Total: len(c.Numbers)})
	}
	return st
}

// set changes one chunk's progress and reports.
func (st *runState) set(i int, f func(*ChunkProgress)) {
	st.mu.Lock()
	f(&st.chunks[i])
	st.mu.Unlock()
	st.report()
}

func (st *runState) track(i int, tr *pollTracker) {
	st.mu.Lock()
	st.trackers[i] = tr
	st.mu.Unlock()
}

// observe feeds a status answer to the chunk's tracker and its progress.
func (st *runState) observe(i int, tr *pollTracker, t *Task, now time.Time) {
	st.set(i, func(p *ChunkProgress) {
		tr.observe(t, now)
		p.State, p.Done, p.Total = string(t.Status), t.Done(), max(t.Total, p.Total)
	})
}

// next asks the chunk's tracker for its next wait, under the lock that
// snapshot reads trackers under.
func (st *runState) next(tr *pollTracker, now time.Time) time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	return tr.next(now)
}

// snapshot builds a Progress; between status calls, a processing chunk's
// count is extrapolated from its estimated speed and marked Estimated.
func (st *runState) snapshot() Progress {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.job.Clock.Now()
	p := Progress{Elapsed: now.Sub(st.start), Chunks: append([]ChunkProgress(nil), st.chunks...), Calls: st.job.Client.Calls().Snapshot().Sub(st.startCalls)}
	etaKnown := true
	for i := range p.Chunks {
		c := &p.Chunks[i]
		tr, tracked := st.trackers[i]
		if tracked && c.State == string(StatusProcessing) {
			done, est := tr.estimateDone(now)
			if done > c.Done {
				c.Done = done
				p.Estimated = p.Estimated || est
			}
		}
		switch c.State {
		case "downloading", "downloaded", "converted", string(StatusCompleted), string(StatusExported):
		default:
			left, ok := time.Duration(0), false
			if tracked {
				left, ok = tr.eta(now)
			}
			etaKnown = etaKnown && ok
			p.ETA = max(p.ETA, left)
		}
		p.Total += c.Total
		p.Done += min(c.Done, c.Total)
	}
	if !etaKnown {
		p.ETA = 0
	}
	return p
}

func (st *runState) report() {
	if st.job.Progress == nil {
		return
	}
	// The snapshot is taken under reportMu, so reports never go backwards.
	st.reportMu.Lock()
	defer st.reportMu.Unlock()
	st.job.Progress(st.snapshot())
}

// tick reports about once a second until stopped.
func (st *runState) tick(ctx context.Context) (stop func()) {
	if st.job.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				st.report()
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
