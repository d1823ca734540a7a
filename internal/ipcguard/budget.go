package ipcguard

import (
	"fmt"
	"sync/atomic"

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
// panic ends the read, and the caller recovers it. Safe for concurrent use.
type Budget struct {
	memory.Allocator
	limit int64
	held  atomic.Int64
}

// NewBudget bounds the bytes held allocated through mem to limit.
func NewBudget(mem memory.Allocator, limit int64) *Budget {
	return &Budget{Allocator: mem, limit: limit}
}

// grow takes n more bytes (n < 0 is a lie too: no size is negative).
func (a *Budget) grow(n int) {
	if held := a.held.Add(int64(n)); n < 0 || held > a.limit {
		a.held.Add(-int64(max(n, 0)))
		panic(&OverBudget{Want: held, Limit: a.limit})
	}
}

// Allocate is the embedded allocator's, within the budget.
func (a *Budget) Allocate(size int) []byte {
	a.grow(size)
	return a.Allocator.Allocate(size)
}

// Reallocate is the embedded allocator's, within the budget.
func (a *Budget) Reallocate(size int, b []byte) []byte {
	if size < 0 {
		a.grow(size)
	}
	if d := size - len(b); d > 0 {
		a.grow(d)
	} else {
		a.held.Add(int64(d))
	}
	return a.Allocator.Reallocate(size, b)
}

// Free is the embedded allocator's; the bytes leave the budget.
func (a *Budget) Free(b []byte) {
	a.held.Add(-int64(len(b)))
	a.Allocator.Free(b)
}
