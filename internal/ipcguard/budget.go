package ipcguard

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// OverBudget is the panic value of a Budget's allocation past its limit:
// the caller that set the budget recovers it and returns it as the error.
type OverBudget struct {
	Want, Limit int64 // bytes that would be held, and the limit
}

func (e *OverBudget) Error() string {
	return fmt.Sprintf("asks for more memory than its size allows (%d bytes of %d)", e.Want, e.Limit)
}

// Budget is an allocator that fails, by panicking with *OverBudget, when
// the bytes it holds allocated would pass a limit. arrow-go's readers
// allocate what the bytes they read ask for (a compressed buffer's
// uncompressed length, say) and have no error path in an allocator; the
// panic ends the read, and the caller recovers it. It also knows what it
// holds, so that FreeAll can give back what a failed read left behind.
// Safe for concurrent use.
type Budget struct {
	mem   memory.Allocator
	limit int64

	mu   sync.Mutex
	held int64
	live map[*byte]int // the allocations not freed, by their first byte: their length
}

var _ memory.Allocator = (*Budget)(nil)

// NewBudget bounds the bytes held allocated through mem to limit.
func NewBudget(mem memory.Allocator, limit int64) *Budget {
	return &Budget{mem: mem, limit: limit, live: map[*byte]int{}}
}

// check panics when holding grow more bytes would pass the limit (a
// negative size is a lie too).
func (a *Budget) check(grow int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if grow < 0 || a.held+int64(grow) > a.limit {
		panic(&OverBudget{Want: a.held + int64(grow), Limit: a.limit})
	}
}

func (a *Budget) track(b []byte) {
	if cap(b) == 0 {
		return
	}
	a.mu.Lock()
	a.live[&b[:1][0]] = len(b)
	a.held += int64(len(b))
	a.mu.Unlock()
}

func (a *Budget) untrack(b []byte) {
	if cap(b) == 0 {
		return
	}
	a.mu.Lock()
	p := &b[:1][0]
	if n, ok := a.live[p]; ok {
		delete(a.live, p)
		a.held -= int64(n)
	}
	a.mu.Unlock()
}

// Allocate is the embedded allocator's, within the budget.
func (a *Budget) Allocate(size int) []byte {
	a.check(size)
	b := a.mem.Allocate(size)
	a.track(b)
	return b
}

// Reallocate is the embedded allocator's, within the budget.
func (a *Budget) Reallocate(size int, b []byte) []byte {
	if size < 0 {
		a.check(size)
	}
	a.check(max(size-len(b), 0))
	out := a.mem.Reallocate(size, b)
	a.untrack(b)
	a.track(out)
	return out
}

// Free is the embedded allocator's; the bytes leave the budget.
func (a *Budget) Free(b []byte) {
	a.untrack(b)
	a.mem.Free(b)
}

// FreeAll frees what the budget still holds: after a read that failed,
// what the reader allocated and lost on its way out (arrow-go recovers its
// own panics without releasing the buffers of the batch it was building).
// Call it only once nothing allocated through the budget is in use.
func (a *Budget) FreeAll() {
	a.mu.Lock()
	live := a.live
	a.live, a.held = map[*byte]int{}, 0
	a.mu.Unlock()
	for p, n := range live {
		a.mem.Free(unsafe.Slice(p, n))
	}
}
