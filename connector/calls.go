package connector

import "sync/atomic"

// CallCounter tallies calls to the upstream. Creations and status calls that
// succeed are the charged ones. Safe for concurrent use.
type CallCounter struct {
	creates, statuses, downloads, errors atomic.Int64
}

// Calls is a snapshot of a CallCounter.
type Calls struct {
	Creates   int64 // tasks created (charged)
	Statuses  int64 // status calls answered (charged)
	Downloads int64 // result files downloaded (free)
	Errors    int64 // refused or failed calls (free)
}

// Charged is the number of calls the upstream bills.
func (c Calls) Charged() int64 { return c.Creates + c.Statuses }

// Snapshot returns the current tally.
func (cc *CallCounter) Snapshot() Calls {
	return Calls{Creates: cc.creates.Load(), Statuses: cc.statuses.Load(), Downloads: cc.downloads.Load(), Errors: cc.errors.Load()}
}

func (cc *CallCounter) addCreate()   { cc.creates.Add(1) }
func (cc *CallCounter) addStatus()   { cc.statuses.Add(1) }
func (cc *CallCounter) addDownload() { cc.downloads.Add(1) }

func (cc *CallCounter) addError(int) { cc.errors.Add(1) }

// Sub is the calls made since an earlier snapshot.
func (c Calls) Sub(earlier Calls) Calls {
	return Calls{Creates: c.Creates - earlier.Creates, Statuses: c.Statuses - earlier.Statuses, Downloads: c.Downloads - earlier.Downloads, Errors: c.Errors - earlier.Errors}
}
