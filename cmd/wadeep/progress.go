package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/wadeep/wadeep/connector"
)

// progressPrinter shows a running job on stderr.
//
// On a terminal it redraws one line in place ("\r", the line, "\x1b[K"), at
// most every 200 ms unless a task changes state. The terminal's width is
// asked again on every redraw, so the line follows a resize, and the line is
// always narrower than the terminal, so the terminal never wraps it (a
// wrapped line cannot be redrawn in place: "\r" only returns to its last
// row). To fit, the printer first uses short labels, then drops fields in
// this order (see fitLevels):
//
//  1. the tasks by state ("1 pending, 2 processing")
//  2. the elapsed time
//  3. the charged calls
//  4. the bar, from 20 cells to 10
//  5. the numbers done ("~230/600")
//  6. the bar, to 5 cells, then entirely
//  7. the ETA
//
// so that the percentage and the ETA stay longest; at last the line is cut.
// finish prints the last line whole, with every field, broken between fields
// into lines that fit. A terminal that reflows its rows when it narrows may
// still show one cut copy of the line drawn before the resize: the printer
// learns the new width only at its next redraw (at least once a second).
//
// Otherwise (a file, a pipe) it writes plain full lines, at most every 10 s
// or when a task changes state, so that logs stay readable.
//
// It sees only connector.Progress: nothing secret reaches it.
type progressPrinter struct {
	w        io.Writer
	tty      bool
	width    func() int // terminal columns; 0 when unknown
	interval time.Duration

	mu      sync.Mutex
	last    time.Time
	lastKey string
	final   *progressFields // the latest progress, for finish
	drawn   bool
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fd := int(f.Fd())
		return newProgress(w, true, func() int {
			cols, _, err := term.GetSize(fd)
			if err != nil {
				return 0
			}
			return cols
		})
	}
	return newProgress(w, false, nil)
}

// newProgress is newProgressPrinter with the terminal decision and the width
// source given, for tests.
func newProgress(w io.Writer, tty bool, width func() int) *progressPrinter {
	p := &progressPrinter{w: w, tty: tty, width: width, interval: 10 * time.Second}
	if tty {
		p.interval = 200 * time.Millisecond
	}
	if p.width == nil {
		p.width = func() int { return 0 }
	}
	return p
}

// defaultWidth is assumed when a terminal does not tell its width.
const defaultWidth = 80

func (p *progressPrinter) update(pr connector.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := newProgressFields(pr)
	p.final = &f
	now := time.Now()
	if f.key == p.lastKey && now.Sub(p.last) < p.interval {
		return
	}
	p.last, p.lastKey = now, f.key
	if !p.tty {
		fmt.Fprintln(p.w, f.full())
		return
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", f.fit(p.cols()-1))
	p.drawn = true
}

// finish replaces the redrawn line, if any, by the last progress in full,
// ending with a newline.
func (p *progressPrinter) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.drawn {
		return
	}
	lines := wrapFields(p.final.fullParts(), p.cols()-1)
	fmt.Fprintf(p.w, "\r%s\x1b[K\n", strings.Join(lines, "\x1b[K\n"))
	p.drawn = false
}

func (p *progressPrinter) cols() int {
	if c := p.width(); c > 0 {
		return c
	}
	return defaultWidth
}

// progressFields is one Progress as the texts the line is made of.
type progressFields struct {
	pct      float64
	done     int
	total    int
	est      bool
	key      string // tasks by state, "1 pending, 2 processing"
	charged  int64
	elapsed  time.Duration
	eta      time.Duration
	hasTasks bool
}

var stateOrder = []string{"waiting", "creating", "pending", "processing", "completed", "exported", "downloading", "downloaded", "converted"}

func newProgressFields(pr connector.Progress) progressFields {
	states := map[string]int{}
	for _, c := range pr.Chunks {
		states[c.State]++
	}
	var parts []string
	for _, s := range stateOrder {
		if n := states[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	f := progressFields{
		done: pr.Done, total: pr.Total, est: pr.Estimated,
		key: strings.Join(parts, ", "), hasTasks: len(parts) > 0,
		charged: pr.Calls.Charged(), elapsed: pr.Elapsed.Round(time.Second), eta: pr.ETA.Round(time.Second),
	}
	if pr.Total > 0 {
		f.pct = 100 * float64(pr.Done) / float64(pr.Total)
	}
	return f
}

// fullParts are the fields of the full line, in order.
func (f progressFields) fullParts() []string {
	est := ""
	if f.est {
		est = " (est.)"
	}
	parts := []string{
		fmt.Sprintf("%s %.0f%%", bar(f.pct, 20), f.pct),
		fmt.Sprintf("numbers %d/%d%s", f.done, f.total, est),
	}
	if f.hasTasks {
		parts = append(parts, "tasks: "+f.key)
	}
	parts = append(parts, fmt.Sprintf("charged calls: %d", f.charged), fmt.Sprintf("elapsed %s", f.elapsed))
	if f.eta > 0 {
		parts = append(parts, fmt.Sprintf("ETA %s (est.)", f.eta))
	}
	return parts
}

func (f progressFields) full() string { return strings.Join(f.fullParts(), "  ") }

// fitLevel is one way to draw the line short: the bar's cells (0: no bar)
// and which fields to show, all with short labels.
type fitLevel struct {
	bar                            int
	numbers, tasks, elapsed, calls bool
	eta                            bool
}

// fitLevels are tried in order after the full line; the first that fits is
// drawn. The order is the one documented on progressPrinter.
var fitLevels = []fitLevel{
	{bar: 20, numbers: true, tasks: true, calls: true, elapsed: true, eta: true},
	{bar: 20, numbers: true, calls: true, elapsed: true, eta: true},
	{bar: 20, numbers: true, calls: true, eta: true},
	{bar: 20, numbers: true, eta: true},
	{bar: 10, numbers: true, eta: true},
	{bar: 10, eta: true},
	{bar: 5, eta: true},
	{eta: true},
	{},
}

func (f progressFields) short(l fitLevel) string {
	var parts []string
	pct := fmt.Sprintf("%.0f%%", f.pct)
	if l.bar > 0 {
		pct = bar(f.pct, l.bar) + " " + pct
	}
	parts = append(parts, pct)
	if l.numbers {
		est := ""
		if f.est {
			est = "~"
		}
		parts = append(parts, fmt.Sprintf("%s%d/%d", est, f.done, f.total))
	}
	if l.tasks && f.hasTasks {
		parts = append(parts, f.key)
	}
	if l.calls {
		parts = append(parts, fmt.Sprintf("%d charged", f.charged))
	}
	if l.elapsed {
		parts = append(parts, fmt.Sprintf("elapsed %s", f.elapsed))
	}
	if l.eta && f.eta > 0 {
		parts = append(parts, fmt.Sprintf("ETA ~%s", f.eta))
	}
	return strings.Join(parts, "  ")
}

// fit returns the longest form of the line that takes at most max cells.
func (f progressFields) fit(max int) string {
	if s := f.full(); cells(s) <= max {
		return s
	}
	for _, l := range fitLevels {
		if s := f.short(l); cells(s) <= max {
			return s
		}
	}
	return cut(f.short(fitLevels[len(fitLevels)-1]), max)
}

// wrapFields joins parts with two spaces into lines of at most max cells,
// breaking only between parts; following lines are indented by two spaces.
// A part longer than a line gets a line of its own.
func wrapFields(parts []string, max int) []string {
	var lines []string
	cur := ""
	for _, p := range parts {
		switch {
		case cur == "":
			cur = p
		case cells(cur)+2+cells(p) <= max:
			cur += "  " + p
		default:
			lines = append(lines, cur)
			cur = "  " + p
		}
	}
	return append(lines, cur)
}

// cells is the terminal cells s takes: one per rune, as the line holds no
// wide or combining characters.
func cells(s string) int { return utf8.RuneCountInString(s) }

// cut returns s's first max runes (none when max < 1).
func cut(s string, max int) string {
	if max < 1 {
		return ""
	}
	if r := []rune(s); len(r) > max {
		return string(r[:max])
	}
	return s
}

func bar(pct float64, width int) string {
	n := int(pct / 100 * float64(width))
	n = min(max(n, 0), width)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}
