//go:build !windows

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
)

// The tests here run the built wadeep binary on a real pseudo-terminal and
// replay what it wrote through a model of a terminal screen.

// screen models a terminal of fixed width with unlimited scrollback: it
// knows printable runes, "\r", "\n" (the pty turns it into "\r\n") and
// "\x1b[K" (erase to the end of the line), and refuses everything else, so a
// sequence it does not know cannot hide a stale line.
type screen struct {
	width    int
	rows     [][]rune
	row, col int
	pending  bool     // the last column was written: the next rune wraps
	wide     []string // rows written up to the last column or beyond
	redraws  int      // lines redrawn in place: "\x1b[K" not followed by "\n"
	stacks   []string // screens with more than one progress row after a redraw
}

func newScreen(width int) *screen { return &screen{width: width, rows: [][]rune{nil}} }

func (s *screen) line(r int) string { return strings.TrimRight(string(s.rows[r]), " ") }

func (s *screen) newline() {
	s.row++
	s.col, s.pending = 0, false
	for len(s.rows) <= s.row {
		s.rows = append(s.rows, nil)
	}
}

func (s *screen) put(r rune) {
	if s.pending {
		s.newline()
	}
	for len(s.rows[s.row]) <= s.col {
		s.rows[s.row] = append(s.rows[s.row], ' ')
	}
	s.rows[s.row][s.col] = r
	if s.col >= s.width-1 {
		// The line reached the last column: the terminal wraps the next rune
		// and "\r" can no longer reach the line's start.
		s.wide = append(s.wide, s.line(s.row))
		s.pending = true
		return
	}
	s.col++
}

// write feeds b to the screen; it fails on anything the model does not know.
func (s *screen) write(b []byte) error {
	for len(b) > 0 {
		switch {
		case b[0] == '\r':
			s.col, s.pending = 0, false
			b = b[1:]
		case b[0] == '\n':
			s.newline()
			b = b[1:]
		case bytes.HasPrefix(b, []byte("\x1b[K")):
			if s.col < len(s.rows[s.row]) {
				s.rows[s.row] = s.rows[s.row][:s.col]
			}
			b = b[3:]
			if len(b) > 0 && b[0] != '\r' && b[0] != '\n' {
				return fmt.Errorf("a redraw ends with %q, not with the end of the line", b[:min(len(b), 12)])
			}
			if len(b) == 0 || b[0] != '\n' {
				s.redraws++
			}
			if n := s.progressRows(); n != 1 {
				s.stacks = append(s.stacks, fmt.Sprintf("%d progress rows:\n%s", n, s.String()))
			}
		case b[0] < 0x20 || b[0] == 0x7f:
			return fmt.Errorf("control byte %q the model does not know at %q", b[0], b[:min(len(b), 12)])
		default:
			r, n := utf8.DecodeRune(b)
			if r == utf8.RuneError && n <= 1 {
				return fmt.Errorf("invalid UTF-8 at %q", b[:min(len(b), 12)])
			}
			s.put(r)
			b = b[n:]
		}
	}
	return nil
}

var progressRow = regexp.MustCompile(`^(\[[#.]+\] )?\d+%`)

func (s *screen) progressRows() int {
	n := 0
	for r := range s.rows {
		if progressRow.MatchString(s.line(r)) {
			n++
		}
	}
	return n
}

// finalLine is the last progress row with the rows that continue it.
func (s *screen) finalLine() string {
	last := -1
	for r := range s.rows {
		if progressRow.MatchString(s.line(r)) {
			last = r
		}
	}
	if last < 0 {
		return ""
	}
	parts := []string{s.line(last)}
	for r := last + 1; r < len(s.rows) && strings.HasPrefix(s.line(r), "  "); r++ {
		parts = append(parts, strings.TrimSpace(s.line(r)))
	}
	return strings.Join(parts, "  ")
}

func (s *screen) String() string {
	var b strings.Builder
	for r := range s.rows {
		fmt.Fprintf(&b, "|%s|\n", s.line(r))
	}
	return b.String()
}

func TestScreenModel(t *testing.T) {
	s := newScreen(12)
	require.NoError(t, s.write([]byte("\r50%\x1b[K\r60% abcdefg\x1b[K")))
	require.Empty(t, s.wide)
	require.Empty(t, s.stacks)
	require.Equal(t, "60% abcdefg", s.line(0))
	require.Equal(t, 2, s.redraws)
	// A line of the window's width wraps and leaves a stale row behind.
	require.NoError(t, s.write([]byte("\r70% abcdefghij\x1b[K\r80%\x1b[K")))
	require.Len(t, s.wide, 1)
	require.NotEmpty(t, s.stacks)
	require.Error(t, newScreen(10).write([]byte("\x1b[2K")))
	require.Error(t, newScreen(10).write([]byte("a\tb")))
}

// buildWadeep builds the command into dir.
func buildWadeep(t *testing.T, dir string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	require.NoError(t, err, "the test builds the wadeep binary with the go command")
	bin := filepath.Join(dir, "wadeep")
	out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// ptyRun is wadeep check on a pty of cols columns against an in-process
// sandbox where a task of 1,000 numbers takes about 3 s.
type ptyRun struct {
	out  syncBuffer
	ptmx *os.File
	done chan error    // the exit of the command
	read chan struct{} // closed when all output is read
}

func startOnPTY(t *testing.T, bin string, cols uint16) *ptyRun {
	t.Helper()
	_, url := fastSandbox(t, emulator.WithSpeed(400), emulator.WithStartDelay(200*time.Millisecond))
	dir := t.TempDir()
	var in strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&in, "+4179%07d\n", 1000000+i)
	}
	input := filepath.Join(dir, "numbers.txt")
	require.NoError(t, os.WriteFile(input, []byte(in.String()), 0o600))
	cmd := exec.Command(bin, "check", input, "--api-url", url, "--api-key", emulator.DefaultAPIKey, "--user-id", "u1",
		"--state", filepath.Join(dir, "state"), "--poll-floor", "100ms", "--export-min", "0", "--out", filepath.Join(dir, "out.csv"))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WADEEP_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: cols})
	require.NoError(t, err)
	r := &ptyRun{ptmx: ptmx, done: make(chan error, 1), read: make(chan struct{})}
	go func() {
		defer close(r.read)
		_, _ = io.Copy(&r.out, ptmx) // ends with EIO once the command is gone
	}()
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-r.done
		r.done <- nil
		_ = ptmx.Close()
		<-r.read
	})
	return r
}

// wait waits for the command to end and returns all it wrote.
func (r *ptyRun) wait(t *testing.T) []byte {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		require.NoError(t, err, "%s", []byte(r.out.String()))
	case <-time.After(30 * time.Second):
		t.Fatalf("wadeep check did not end; it wrote %q", []byte(r.out.String()))
	}
	select {
	case <-r.read: // EIO once the command and its pty side are gone
	case <-time.After(5 * time.Second):
		t.Fatalf("the pty stayed open after wadeep check ended; it wrote %q", r.out.String())
	}
	return []byte(r.out.String())
}

// checkScreen replays out on a screen of width columns and asserts what a
// person sees there.
func checkScreen(t *testing.T, width int, out []byte, minRedraws int) {
	t.Helper()
	// The progress ends with the final line's last "\x1b[K\r\n" (the pty
	// writes "\n" as "\r\n"); the summary after it is plain lines, which the
	// terminal may wrap.
	end := bytes.LastIndex(out, []byte("\x1b[K\r\n"))
	require.GreaterOrEqual(t, end, 0, "no final line: %q", out)
	end += len("\x1b[K\r\n")
	s := newScreen(width)
	require.NoError(t, s.write(out[:end]), "%q", out)
	t.Logf("screen of %d columns after %d redraws:\n%s", width, s.redraws, s)
	require.Empty(t, s.wide, "progress rows as wide as the window (the terminal wraps them)")
	require.NoError(t, s.write(out[end:]), "%q", out)
	require.Empty(t, s.stacks, "after a redraw, the screen holds one progress row")
	require.GreaterOrEqual(t, s.redraws, minRedraws, "redraws seen")
	require.Equal(t, 1, s.progressRows(), "one progress row stays: the final one")
	final := s.finalLine()
	for _, want := range []string{"100%", "numbers 1000/1000", "tasks: 1 converted", "charged calls: ", "elapsed "} {
		require.Contains(t, final, want, "the final line is whole")
	}
	require.Contains(t, string(out), "rows in: 1000; profiles out: 1000")
}

func TestProgressOnPTY(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: this test builds the wadeep binary and runs it on a pty for a few seconds")
	}
	bin := buildWadeep(t, t.TempDir())
	for _, cols := range []uint16{60, 80, 120} {
		t.Run(fmt.Sprintf("cols=%d", cols), func(t *testing.T) {
			t.Parallel()
			r := startOnPTY(t, bin, cols)
			checkScreen(t, int(cols), r.wait(t), 3)
		})
	}
	t.Run("resize 120 to 60", func(t *testing.T) {
		t.Parallel()
		r := startOnPTY(t, bin, 120)
		deadline := time.Now().Add(10 * time.Second)
		for !bytes.Contains([]byte(r.out.String()), []byte("\x1b[K")) {
			require.True(t, time.Now().Before(deadline), "no redraw in 10 s: %q", []byte(r.out.String()))
			time.Sleep(5 * time.Millisecond)
		}
		require.NoError(t, pty.Setsize(r.ptmx, &pty.Winsize{Rows: 40, Cols: 60}))
		at := len([]byte(r.out.String()))
		out := r.wait(t)

		before := newScreen(120)
		require.NoError(t, before.write(out[:at]))
		require.Empty(t, before.wide)
		require.Empty(t, before.stacks)
		// A redraw may be under way while the window shrinks: skip to the end
		// of the first one that arrives after, then every line fits 60.
		rest := out[at:]
		i := bytes.Index(rest, []byte("\x1b[K"))
		require.GreaterOrEqual(t, i, 0, "no redraw after the resize: %q", rest)
		checkScreen(t, 60, rest[i+3:], 2)
	})
}
