package connector

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// Helpers of the fuzz targets over inputs (FuzzReadValues, FuzzReadTable):
// the properties every input must keep, whatever its bytes.

// lineCount is how many lines data has, a last line without its end
// included: no reader may find more rows than that.
func lineCount(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

var lineRef = regexp.MustCompile(`\bline (\d+)\b`)

// requireInputError checks an error reading an input: one line, naming the
// input, and any line it cites within the file's lines (lines < 0: the
// format has no lines to check against).
func requireInputError(t *testing.T, err error, name string, lines int) {
	t.Helper()
	msg := err.Error()
	require.NotContains(t, msg, "\n", "an error is one line")
	require.NotContains(t, msg, "\r", "an error is one line")
	require.Contains(t, msg, name, "the error names the input")
	require.LessOrEqual(t, len(msg), 2048, "an error is short: %.300q", msg)
	if lines < 0 {
		return
	}
	for _, m := range lineRef.FindAllStringSubmatch(msg, -1) {
		n, _ := strconv.Atoi(m[1])
		require.True(t, n >= 1 && n <= max(lines, 1), "the error cites line %d of %d: %s", n, lines, msg)
	}
}

// requirePlanAccounts checks a plan of one input named name: every row is a
// number, a reject or a blank, at most lines rows (lines < 0: unknown), and
// rows cited within them.
func requirePlanAccounts(t *testing.T, plan *Plan, name string, lines int) {
	t.Helper()
	require.Equal(t, plan.Rows, len(plan.Numbers)+len(plan.Rejects)+plan.Blank, "every row is a number, a reject or a blank")
	seen := map[string]bool{}
	for i, n := range plan.Numbers.Strings() {
		require.False(t, seen[n], "duplicate %s", n)
		seen[n] = true
		require.Equal(t, byte('+'), n[0], "E.164")
		require.Equal(t, name, plan.Origin(i).File)
	}
	maxRow := lines
	if lines < 0 {
		maxRow = int(^uint(0) >> 1)
	}
	if lines >= 0 {
		require.LessOrEqual(t, plan.Rows, lines, "no more rows than lines")
	}
	prev := 0
	for i := range plan.Numbers {
		o := plan.Origin(i)
		require.True(t, o.Row > prev && o.Row <= maxRow, "row %d after %d, of %d lines", o.Row, prev, lines)
		prev = o.Row
	}
	for _, r := range plan.Rejects {
		require.Equal(t, name, r.File)
		require.True(t, r.Row >= 1 && r.Row <= maxRow, "reject row %d of %d lines", r.Row, lines)
		require.NotEmpty(t, r.Reason)
		require.LessOrEqual(t, utf8.RuneCountInString(r.Value), MaxValueLen+1, "a reject holds a cut value: %q", r.Value)
		require.False(t, strings.ContainsFunc(r.Value, unicode.IsControl), "a reject's value has its control characters escaped: %q", r.Value)
		require.True(t, utf8.ValidString(r.Value), "a reject's value is text: %q", r.Value)
		if r.Reason == ReasonDuplicate {
			require.Less(t, r.DuplicateOf.Row, r.Row)
		}
	}
	total := 0
	for _, c := range plan.Chunks {
		require.LessOrEqual(t, len(c.Numbers), plan.Options.ChunkSize)
		total += len(c.Numbers)
	}
	require.Equal(t, len(plan.Numbers), total, "every number is in one chunk")
}

// requireSameRows reads an input once as planning does and once as the
// enrich pass does (open gives a fresh Input each time): both see the same
// rows, values and blanks, and the second pass hands on every column.
//
// A Parquet input is the exception: planning reads only the phone column,
// the enrich pass every column, so a damaged other column fails the second
// pass alone, with an error that names the file (found by FuzzReadTable).
func requireSameRows(t *testing.T, open func() Input) {
	t.Helper()
	type row struct {
		Row   int
		Value string
		Blank bool
	}
	var first, second []row
	var src Source
	err := readValues(open(), &src, func(n int, v string, blank bool) { first = append(first, row{n, v, blank}) })
	require.NoError(t, err, "planning read it")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	err = readRows(context.Background(), open(), &src, mem, func(r *fullRow) error {
		second = append(second, row{r.row, r.value, r.blank})
		if r.rec != nil {
			require.Less(t, int64(r.i), r.rec.NumRows())
			require.Equal(t, len(src.Fields), int(r.rec.NumCols()))
		} else {
			require.Len(t, r.cells, len(src.Fields))
		}
		return nil
	})
	if in := open(); err != nil && strings.EqualFold(filepath.Ext(in.Name), ".parquet") {
		requireInputError(t, err, in.Name, -1)
		require.LessOrEqual(t, len(second), len(first))
		require.True(t, slices.Equal(first[:len(second)], second), "the rows read before the damaged page")
		return
	}
	require.NoError(t, err, "the enrich pass reads what planning read")
	require.Equal(t, first, second, "the enrich pass sees the rows planning saw")
	require.Zero(t, mem.CurrentAlloc(), "the enrich pass releases its batches")
	require.Less(t, src.Column, max(len(src.Fields), 1))
	names := map[string]bool{}
	for _, f := range src.Fields {
		require.False(t, names[f.Name], "column names are unique: %q", f.Name)
		require.NotEqual(t, "", strings.TrimSpace(f.Name))
		names[f.Name] = true
	}
}
