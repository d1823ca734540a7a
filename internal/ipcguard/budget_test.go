package ipcguard

import (
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// overBudget runs fn and returns the *OverBudget it panicked with, if any.
func overBudget(fn func()) (ob *OverBudget) {
	defer func() {
		if v := recover(); v != nil {
			ob = v.(*OverBudget)
		}
	}()
	fn()
	return nil
}

// TestBudgetHoldsTheLimit: the bytes held, not the bytes ever allocated,
// count; an allocation past the limit (or of a negative size) panics with
// *OverBudget; FreeAll gives back whatever is still held.
func TestBudgetHoldsTheLimit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	a := NewBudget(mem, 100)
	b := a.Allocate(60)
	if ob := overBudget(func() { a.Allocate(41) }); ob == nil || ob.Want != 101 || ob.Limit != 100 {
		t.Fatalf("60 + 41 of 100: %v", ob)
	}
	a.Free(b)
	b = a.Allocate(100) // freed bytes leave the budget
	b = a.Reallocate(40, b)
	c := a.Allocate(60) // 40 + 60
	if ob := overBudget(func() { a.Reallocate(41, b) }); ob == nil {
		t.Fatal("a grow past the limit")
	}
	if ob := overBudget(func() { a.Allocate(-1) }); ob == nil {
		t.Fatal("a negative size")
	}
	var err error = &OverBudget{Want: 101, Limit: 100}
	if !errors.As(err, new(*OverBudget)) || err.Error() != "asks for more memory than its size allows (101 bytes of 100)" {
		t.Fatal(err)
	}
	_ = c
	a.FreeAll() // b and c, as a failed read would leave them
	if n := mem.CurrentAlloc(); n != 0 {
		t.Fatalf("%d bytes still allocated", n)
	}
	a.Allocate(100) // the budget is whole again
}
