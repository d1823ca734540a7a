package arrowconv

import (
	"fmt"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/internal/xlsx"
)

// layout is one way a result file may be laid out.
type layout struct {
	name   string
	opts   genOpts
	header []string // replaces resultHeader's texts, same order
	perm   []int    // column order, as indices into resultHeader
	extra  bool     // unknown columns beside the documented ones
	sheets bool     // the results are not the only sheet, nor sheet1.xml
	gap    int      // rows left out between rows
}

var layouts = []layout{
	{name: "plain"},
	{name: "header-case-spacing", header: []string{"NUMBER", " WhatsApp ", "Avatar", "AGE", "Category", "gender", "Hair Color", "SKIN COLOR"}},
	{name: "shuffled", perm: []int{3, 0, 7, 5, 1, 6, 2, 4}},
	{name: "extra-columns", extra: true},
	{name: "extra-sheets", sheets: true},
	{name: "int-ages", opts: genOpts{numericAge: true}},
	{name: "range-ages", opts: genOpts{rangeAges: true}},
	{name: "blank-rows", opts: genOpts{blank: true}, gap: 3},
	{name: "failed-rows", opts: genOpts{failed: true}},
	{name: "numeric-numbers", opts: genOpts{numericNumber: true}},
	{name: "sparse", opts: genOpts{sparse: true}},
	{name: "everything", opts: genOpts{rangeAges: true, numericAge: true, numericNumber: true, failed: true, blank: true, sparse: true},
		perm: []int{1, 0, 2, 7, 3, 4, 6, 5}, extra: true, sheets: true, gap: 2},
}

// sheetsFor lays out n generated rows.
func (l layout) sheetsFor(n int, seed uint64) []sheetSpec {
	rows := genRows(n, seed, l.opts)
	header := resultHeader
	if l.header != nil {
		header = l.header
	}
	all := withHeader(header, rows)
	if l.perm != nil {
		for i, r := range all {
			p := make([]any, len(r))
			for j, from := range l.perm {
				p[j] = r[from]
			}
			all[i] = p
		}
	}
	if l.extra {
		for i, r := range all {
			var name, seen any = "Profile Name", "last_seen"
			if i > 0 {
				name, seen = fmt.Sprintf("Anna & Bee <%d> \"x\"", i), nil
				if i%3 == 0 {
					seen = fmt.Sprintf("2024-10-%02d", 1+i%28)
				}
				if (l.opts.sparse && i%4 == 0) || blankRow(r) {
					name, seen = nil, nil
				}
			}
			all[i] = append(append(append([]any{}, r[:2]...), name), append(r[2:], seen)...)
		}
	}
	if !l.sheets {
		return []sheetSpec{{name: "Sheet1", rows: all, gap: l.gap}}
	}
	return []sheetSpec{
		{name: "Results", rows: all, gap: l.gap},
		{name: "Other", rows: [][]any{{"not", "the", "results"}, {1, 2, 3}}},
	}
}

func blankRow(r []any) bool {
	for _, c := range r {
		if c != nil && c != "" {
			return false
		}
	}
	return true
}

type writer struct {
	name  string
	write func(testing.TB, string, ...sheetSpec)
}

var writers = []writer{{"stream", writeStream}, {"cells", writeCells}}

// TestDifferential reads generated files with the reader's own parser and
// with excelize's Rows, the oracle, and wants the same cells in every row
// and equal record batches.
func TestDifferential(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 120
	}
	for _, w := range writers {
		for i, l := range layouts {
			t.Run(w.name+"/"+l.name, func(t *testing.T) {
				path := tempXLSX(t, l.name)
				w.write(t, path, l.sheetsFor(n, uint64(i+1))...)
				requireSameRows(t, path)
				requireSameBatches(t, path, WithBatchRows(64))
			})
		}
	}
}

// srcRow is a row as a rowSource yields it, trailing empty cells dropped.
type srcRow struct {
	num   int
	cells []string
}

func collectRows(t *testing.T, src rowSource) []srcRow {
	t.Helper()
	defer src.Close()
	var rows []srcRow
	for src.Next() {
		n, cells := src.Row()
		end := len(cells)
		for end > 0 && len(cells[end-1]) == 0 {
			end--
		}
		if end == 0 {
			continue // blank rows: excelize yields the gaps between rows too
		}
		r := srcRow{num: n}
		for _, c := range cells[:end] {
			r.cells = append(r.cells, string(c))
		}
		rows = append(rows, r)
	}
	require.NoError(t, src.Err())
	return rows
}

func openSources(t *testing.T, path string) (*os.File, int64) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f, fileSize(t, path)
}

func requireSameRows(t *testing.T, path string) {
	t.Helper()
	f, size := openSources(t, path)
	ours, err := xlsx.Open(f, size, newConfig(nil).limits)
	require.NoError(t, err)
	oracle, err := newExcelizeSource(f, size)
	require.NoError(t, err)
	require.Equal(t, oracle.Sheet(), ours.Sheet())
	want, got := collectRows(t, oracle), collectRows(t, ours)
	require.NotEmpty(t, want)
	require.Equal(t, want, got)
}

func requireSameBatches(t *testing.T, path string, opts ...Option) {
	t.Helper()
	f, size := openSources(t, path)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	opts = append([]Option{WithAllocator(mem)}, opts...)

	ours, err := NewReader(f, size, opts...)
	require.NoError(t, err)
	defer ours.Release()
	src, err := newExcelizeSource(f, size)
	require.NoError(t, err)
	oracle, err := newReader(newConfig(opts), src)
	require.NoError(t, err)
	defer oracle.Release()

	require.True(t, oracle.Schema().Equal(ours.Schema()), "schemas:\n%s\n%s", oracle.Schema(), ours.Schema())
	want, got := drain(t, oracle), drain(t, ours)
	defer releaseAll(want)
	defer releaseAll(got)
	require.Equal(t, len(want), len(got), "batches")
	for i := range want {
		require.True(t, array.RecordEqual(want[i], got[i]), "batch %d:\n%v\n%v", i, want[i], got[i])
	}
}

// drain reads all batches, retained.
func drain(t *testing.T, r *Reader) []arrow.RecordBatch {
	t.Helper()
	var out []arrow.RecordBatch
	for r.Next() {
		b := r.RecordBatch()
		b.Retain()
		out = append(out, b)
	}
	require.NoError(t, r.Err())
	return out
}

func releaseAll(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}
