package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/wadeep/wadeep/connector"
)

// progressPrinter shows a running job on stderr: one redrawn line on a
// terminal, plain lines (at most every 10 s, or when a task changes state)
// otherwise, so that logs stay readable.
type progressPrinter struct {
	w        io.Writer
	tty      bool
	mu       sync.Mutex
	last     time.Time
	lastKey  string
	drawn    bool
	interval time.Duration
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	p := &progressPrinter{w: w, interval: 10 * time.Second}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty, p.interval = true, 200*time.Millisecond
		}
	}
	return p
}

func (p *progressPrinter) update(pr connector.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	states := map[string]int{}
	for _, c := range pr.Chunks {
		states[c.State]++
	}
	var parts []string
	for _, s := range []string{"waiting", "creating", "pending", "processing", "completed", "exported", "downloading", "downloaded", "converted"} {
		if n := states[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	key := strings.Join(parts, ", ")
	now := time.Now()
	if key == p.lastKey && now.Sub(p.last) < p.interval {
		return
	}
	p.last, p.lastKey = now, key
	est := ""
	if pr.Estimated {
		est = " (est.)"
	}
	pct := 0.0
	if pr.Total > 0 {
		pct = 100 * float64(pr.Done) / float64(pr.Total)
	}
	eta := ""
	if pr.ETA > 0 {
		eta = fmt.Sprintf("  ETA %s (est.)", pr.ETA.Round(time.Second))
	}
	line := fmt.Sprintf("%s  numbers %d/%d%s %.0f%%  tasks: %s  charged calls: %d  elapsed %s%s",
		bar(pct), pr.Done, pr.Total, est, pct, key, pr.Calls.Charged(), pr.Elapsed.Round(time.Second), eta)
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s", line)
		p.drawn = true
		return
	}
	fmt.Fprintln(p.w, line)
}

// finish ends the redrawn line, if any.
func (p *progressPrinter) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

func bar(pct float64) string {
	const width = 20
	n := int(pct / 100 * width)
	n = min(max(n, 0), width)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}
