package phone

import (
	"encoding/binary"
	"fmt"
	"regexp/syntax"
	"slices"
)

// maxDFAStates bounds the states one digitDFA caches; past it the cache
// starts over, so memory stays bounded and answers stay the same.
const maxDFAStates = 10000

// digitDFA decides, for strings of ASCII digits, what Go's regexp decides
// for the same pattern with MatchString: it runs the pattern's compiled
// program as a DFA whose states (sets of program counters) are built the
// first time they are reached. A match then costs one table lookup per
// digit instead of a backtracking run. Not safe for concurrent use.
type digitDFA struct {
	prog    *syntax.Prog
	states  []dfaState
	index   map[string]int32
	visited []bool   // scratch for closure
	stack   []uint32 // scratch for closure
	key     []byte   // scratch for index lookups
}

type dfaState struct {
	pcs      []uint32  // consuming instructions and pending end assertions, sorted
	next     [10]int32 // state after each digit, plus one; 0 when not built yet
	match    bool      // the program matches here without the end of text
	matchEnd bool      // it matches here if the text ends here
}

const (
	dfaDead  = 0 // no way to a match
	dfaStart = 1
)

// newDigitDFA compiles pattern as regexp.Compile would. Patterns with
// assertions other than ^ and $ are refused.
func newDigitDFA(pattern string) (*digitDFA, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, err
	}
	const allowed = syntax.EmptyBeginText | syntax.EmptyBeginLine | syntax.EmptyEndText | syntax.EmptyEndLine
	for _, in := range prog.Inst {
		if in.Op == syntax.InstEmptyWidth && syntax.EmptyOp(in.Arg)&^allowed != 0 {
			return nil, fmt.Errorf("pattern %q: unsupported assertion", pattern)
		}
	}
	d := &digitDFA{prog: prog, visited: make([]bool, len(prog.Inst))}
	d.reset()
	return d, nil
}

func (d *digitDFA) reset() {
	d.states = d.states[:0]
	d.index = make(map[string]int32)
	d.states = append(d.states, dfaState{}) // dead
	pcs, match := d.closure([]uint32{uint32(d.prog.Start)}, true, false)
	_, matchEnd := d.closure(pcs, true, true)
	// The start state stays out of the index: at the start of text, begin
	// assertions hold, so it differs from a later state with the same set.
	d.states = append(d.states, dfaState{pcs: pcs, match: match, matchEnd: match || matchEnd})
}

// closure follows the empty transitions from pcs. It returns the consuming
// instructions reached and the end assertions that wait for the end of text
// (unless atEnd), sorted, and whether the program matches.
func (d *digitDFA) closure(pcs []uint32, atStart, atEnd bool) ([]uint32, bool) {
	var out []uint32
	match := false
	d.stack = append(d.stack[:0], pcs...)
	var seen []uint32
	for len(d.stack) > 0 {
		pc := d.stack[len(d.stack)-1]
		d.stack = d.stack[:len(d.stack)-1]
		if d.visited[pc] {
			continue
		}
		d.visited[pc] = true
		seen = append(seen, pc)
		in := &d.prog.Inst[pc]
		switch in.Op {
		case syntax.InstMatch:
			match = true
		case syntax.InstFail:
		case syntax.InstAlt, syntax.InstAltMatch:
			d.stack = append(d.stack, in.Arg, in.Out)
		case syntax.InstCapture, syntax.InstNop:
			d.stack = append(d.stack, in.Out)
		case syntax.InstEmptyWidth:
			op := syntax.EmptyOp(in.Arg)
			begin := op & (syntax.EmptyBeginText | syntax.EmptyBeginLine)
			end := op & (syntax.EmptyEndText | syntax.EmptyEndLine)
			switch {
			case begin != 0 && !atStart:
			case end != 0 && !atEnd:
				out = append(out, pc) // decided once the text ends
			default:
				d.stack = append(d.stack, in.Out)
			}
		default: // InstRune, InstRune1, InstRuneAny, InstRuneAnyNotNL
			out = append(out, pc)
		}
	}
	for _, pc := range seen {
		d.visited[pc] = false
	}
	slices.Sort(out)
	return out, match
}

// keyOf identifies a state: its set and whether it matches.
func (d *digitDFA) keyOf(pcs []uint32, match bool) []byte {
	d.key = append(d.key[:0], 0)
	if match {
		d.key[0] = 1
	}
	for _, pc := range pcs {
		d.key = binary.LittleEndian.AppendUint32(d.key, pc)
	}
	return d.key
}

// step returns the state after digit c (0-9) from state st, building it the
// first time.
func (d *digitDFA) step(st int32, c byte) int32 {
	if n := d.states[st].next[c]; n != 0 {
		return n - 1
	}
	var succ []uint32
	r := rune('0' + c)
	for _, pc := range d.states[st].pcs {
		in := &d.prog.Inst[pc]
		if in.Op != syntax.InstEmptyWidth && in.MatchRune(r) {
			succ = append(succ, in.Out)
		}
	}
	pcs, match := d.closure(succ, false, false)
	var n int32
	if len(pcs) == 0 && !match {
		n = dfaDead
	} else if i, ok := d.index[string(d.keyOf(pcs, match))]; ok {
		n = i
	} else {
		if len(d.states) >= maxDFAStates {
			d.reset()
			st = -1 // the old state is gone; its successor is still right
		}
		_, matchEnd := d.closure(pcs, false, true)
		n = int32(len(d.states))
		d.states = append(d.states, dfaState{pcs: pcs, match: match, matchEnd: match || matchEnd})
		d.index[string(d.keyOf(pcs, match))] = n
	}
	if st >= 0 {
		d.states[st].next[c] = n + 1
	}
	return n
}

// matchFull reports whether all of s matches, as MatchString does for a
// pattern ending in $. s must be ASCII digits.
func (d *digitDFA) matchFull(s []byte) bool {
	st := int32(dfaStart)
	for _, c := range s {
		c -= '0'
		if n := d.states[st].next[c]; n != 0 {
			st = n - 1
		} else {
			st = d.step(st, c)
		}
		if st == dfaDead {
			return false
		}
	}
	return d.states[st].matchEnd
}

// matchPrefix reports whether some prefix of s matches, as MatchString does
// for a pattern without $. s must be ASCII digits.
func (d *digitDFA) matchPrefix(s []byte) bool {
	st := int32(dfaStart)
	for _, c := range s {
		if d.states[st].match {
			return true
		}
		c -= '0'
		if n := d.states[st].next[c]; n != 0 {
			st = n - 1
		} else {
			st = d.step(st, c)
		}
		if st == dfaDead {
			return false
		}
	}
	return d.states[st].matchEnd
}
