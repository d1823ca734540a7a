package connector

import (
	"runtime"
	"sync"
)

// The planner reads the inputs on the caller's goroutine, normalises their
// values on every core, and applies the results in input order on one
// goroutine: normalising (libphonenumber's validation) is most of planning's
// time, and everything else a plan decides (duplicates, shards, order)
// depends on the order of the rows, so only that part stays sequential.

// planBatchRows is how many rows travel to a normalising worker at once:
// enough to make the hand-over negligible, small enough to keep few values
// in flight.
const planBatchRows = 4096

// planRow is one input row on its way through the planner.
type planRow struct {
	row    int
	value  string
	blank  bool
	number Number // set by the worker when reason is ""
	reason Reason
	detail string
}

type planBatch struct {
	input int // index in the inputs
	rows  []planRow
	done  chan struct{} // closed when the worker has normalised rows
}

type planner struct {
	p      *Plan
	names  []string
	sh     Shard
	region string

	work  chan *planBatch // to the workers, any order
	order chan *planBatch // to the merger, in input order
	cur   *planBatch
	// free holds batches the merger is done with, for the reader to fill
	// again. (Not a sync.Pool: the runtime keeps a pool, and what it points
	// into, alive until the second collection after its last use, and this
	// one would hold the planner's map.)
	free chan *planBatch

	wg     sync.WaitGroup // the workers
	merged chan struct{}  // closed when the merger has applied every batch

	// The merger's state: the numbers of the shard seen so far, by their
	// index in p.Numbers.
	seen numberIndex
}

// planWorkers is how many goroutines normalise: one per core the process may
// use, and at least one.
func planWorkers() int { return max(1, runtime.GOMAXPROCS(0)) }

func newPlanner(p *Plan, names []string, workers int) (*planner, error) {
	pl := &planner{p: p, names: names, sh: p.Options.Shard, region: p.Options.Region,
		work: make(chan *planBatch, workers), order: make(chan *planBatch, 2*workers+2),
		merged: make(chan struct{}), free: make(chan *planBatch, 3*workers+3)}
	norms := make([]*Normalizer, workers)
	for i := range norms {
		var err error
		if norms[i], err = NewNormalizer(pl.region); err != nil {
			return nil, err // before any goroutine starts
		}
	}
	for _, norm := range norms {
		pl.wg.Add(1)
		go pl.normalise(norm)
	}
	go pl.merge()
	return pl, nil
}

// add is the rowFunc of input i: it queues the row.
func (pl *planner) add(i int) rowFunc {
	return func(row int, value string, blank bool) {
		if pl.cur != nil && pl.cur.input != i {
			pl.send() // a batch holds rows of one input
		}
		if pl.cur == nil {
			select {
			case pl.cur = <-pl.free:
			default:
				pl.cur = &planBatch{rows: make([]planRow, 0, planBatchRows)}
			}
			pl.cur.input, pl.cur.done = i, make(chan struct{})
		}
		pl.cur.rows = append(pl.cur.rows, planRow{row: row, value: value, blank: blank})
		if len(pl.cur.rows) == planBatchRows {
			pl.send()
		}
	}
}

// send hands the batch being filled to the workers and the merger.
func (pl *planner) send() {
	if pl.cur == nil {
		return
	}
	pl.order <- pl.cur // before work: the merger waits on it in this order
	pl.work <- pl.cur
	pl.cur = nil
}

// finish sends the last rows and waits until every row is applied to the
// plan. The planner cannot be used after.
func (pl *planner) finish() {
	pl.send()
	close(pl.work)
	close(pl.order)
	pl.wg.Wait()
	<-pl.merged
}

func (pl *planner) normalise(norm *Normalizer) {
	defer pl.wg.Done()
	for b := range pl.work {
		for k := range b.rows {
			r := &b.rows[k]
			if r.blank {
				continue
			}
			e164, reason := norm.Normalize(r.value)
			if reason != "" {
				r.reason, r.detail = reason, norm.detail(r.value, reason)
				continue
			}
			n, ok := ParseNumber(e164)
			if !ok { // libphonenumber gave no E.164: not a number to upload
				r.reason, r.detail = ReasonInvalid, "not a valid number"
				continue
			}
			r.number = n
		}
		close(b.done)
	}
}

// merge applies the batches to the plan in input order.
func (pl *planner) merge() {
	defer close(pl.merged)
	p, sh := pl.p, pl.sh
	for b := range pl.order {
		<-b.done
		name := pl.names[b.input]
		for k := range b.rows {
			r := &b.rows[k]
			switch {
			case r.blank:
				if sh.takes(RowRef{File: name, Row: r.row}.key()) {
					p.Rows++
					p.Blank++
				}
			case r.reason != "":
				if sh.takes(RowRef{File: name, Row: r.row}.key()) {
					p.Rows++
					p.Rejects = append(p.Rejects, Reject{File: name, Row: r.row, Value: cut(r.value), Reason: r.reason, Detail: r.detail})
				}
			case !sh.takesNumber(r.number):
				// Another shard's number: its every row is that shard's.
			default:
				p.Rows++
				if at := pl.seen.find(p.Numbers, r.number); at >= 0 {
					p.Rejects = append(p.Rejects, Reject{File: name, Row: r.row, Value: cut(r.value), Reason: ReasonDuplicate, DuplicateOf: p.Origin(at)})
					continue
				}
				p.Numbers = append(p.Numbers, r.number)
				p.origin = append(p.origin, packOrigin(b.input, r.row))
				pl.seen.add(p.Numbers, len(p.Numbers)-1)
			}
		}
		clear(b.rows) // the values are garbage now
		*b = planBatch{rows: b.rows[:0]}
		select {
		case pl.free <- b:
		default:
		}
	}
}
