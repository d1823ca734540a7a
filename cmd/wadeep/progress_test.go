package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/connector"
)

func sampleProgress() connector.Progress {
	return connector.Progress{
		Elapsed: 83 * time.Second, Total: 60000, Done: 23456, Estimated: true, ETA: 1234 * time.Second,
		Chunks: []connector.ChunkProgress{{State: "pending"}, {State: "processing"}, {State: "processing"}},
		Calls:  connector.Calls{Creates: 3, Statuses: 17},
	}
}

// TestProgressFitOrder narrows the line one cell at a time: it never
// reaches the width, and fields go in the documented order, never to come
// back at a smaller width.
func TestProgressFitOrder(t *testing.T) {
	f := newProgressFields(sampleProgress())
	require.Equal(t, "[#######.............] 39%  numbers 23456/60000 (est.)  tasks: 1 pending, 2 processing  charged calls: 20  elapsed 1m23s  ETA 20m34s (est.)", f.full())
	fields := []struct{ name, text string }{
		{"tasks", "processing"}, {"elapsed", "elapsed"}, {"calls", "charged"},
		{"numbers", "23456/60000"}, {"bar", "["}, {"eta", "ETA"}, {"percent", "39%"},
	}
	var dropped []string
	gone := map[string]bool{}
	for width := 160; width >= 2; width-- {
		line := f.fit(width - 1)
		require.LessOrEqual(t, cells(line), width-1, "width %d: %q", width, line)
		for _, fd := range fields {
			has := strings.Contains(line, fd.text)
			if gone[fd.name] {
				require.False(t, has, "width %d: %s came back: %q", width, fd.name, line)
			} else if !has {
				gone[fd.name] = true
				dropped = append(dropped, fd.name)
			}
		}
		if width-1 >= len("39%  ETA ~20m34s") {
			require.Contains(t, line, "39%", "width %d", width)
			require.Contains(t, line, "ETA", "width %d", width)
		}
	}
	require.Equal(t, []string{"tasks", "elapsed", "calls", "numbers", "bar", "eta", "percent"}, dropped)
	require.Equal(t, "[#####.........]", bar(f.pct, 14))
}

func TestProgressTerminal(t *testing.T) {
	var out bytes.Buffer
	width := 120
	p := newProgress(&out, true, func() int { return width })
	p.interval = 0
	pr := sampleProgress()
	p.update(pr)
	width = 60
	pr.Done = 30000
	p.update(pr)
	width = 0 // unknown: 80 is assumed
	pr.Done = 31000
	p.update(pr)
	require.NotContains(t, out.String(), "\n", "a redraw never ends the line")
	draws := strings.Split(out.String(), "\r")[1:]
	require.Len(t, draws, 3)
	for i, max := range []int{119, 59, 79} {
		line, ok := strings.CutSuffix(draws[i], "\x1b[K")
		require.True(t, ok, "redraw %d clears to the end of the line: %q", i, draws[i])
		require.LessOrEqual(t, cells(line), max, "redraw %d: %q", i, line)
		require.Greater(t, cells(line), max-25, "redraw %d uses the room it has: %q", i, line)
	}
	require.Contains(t, draws[1], "~30000/60000")

	out.Reset()
	width = 60
	pr.Done, pr.Estimated, pr.ETA = 60000, false, 0
	pr.Chunks = []connector.ChunkProgress{{State: "converted"}, {State: "converted"}, {State: "converted"}}
	p.update(pr)
	out.Reset()
	p.finish()
	want := "\r[####################] 100%  numbers 60000/60000\x1b[K\n" +
		"  tasks: 3 converted  charged calls: 20  elapsed 1m23s\x1b[K\n"
	require.Equal(t, want, out.String(), "the final line is whole, broken between fields")
	out.Reset()
	p.finish()
	require.Empty(t, out.String(), "finish twice prints once")
}

func TestProgressPlain(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, false, nil)
	pr := sampleProgress()
	p.update(pr)
	p.update(pr) // same states within 10 s: left out
	pr.Chunks[0].State = "processing"
	p.update(pr)
	p.finish()
	want := fmt.Sprintf("%s\n%s\n", newProgressFields(sampleProgress()).full(), newProgressFields(pr).full())
	require.Equal(t, want, out.String())
	require.NotContains(t, out.String(), "\x1b")
	require.NotContains(t, out.String(), "\r")
}

func TestWrapFields(t *testing.T) {
	require.Equal(t, []string{"aaa  bb", "  cccc", "  dd"}, wrapFields([]string{"aaa", "bb", "cccc", "dd"}, 7))
	require.Equal(t, []string{"aaaaaaaaa", "  b"}, wrapFields([]string{"aaaaaaaaa", "b"}, 5))
	require.Equal(t, "ab…", cut("ab…cd", 3))
	require.Equal(t, 3, cells("ab…"))
}
