package connector

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/internal/fuzzseed"
)

type value struct {
	Row   int
	Value string
}

func readAll(t *testing.T, in Input) ([]value, int, error) {
	t.Helper()
	var got []value
	blank := 0
	err := readValues(in, nil, func(row int, v string, isBlank bool) {
		if isBlank {
			blank++
			return
		}
		got = append(got, value{row, v})
	})
	return got, blank, err
}

func TestReadValues(t *testing.T) {
	tests := []struct {
		name   string
		in     Input
		want   []value
		blank  int
		errMsg string
	}{
		{name: "txt", in: Input{Name: "a.txt", R: strings.NewReader("+41798284651\r\n\n  +41 79 000\n+1\n")},
			want: []value{{1, "+41798284651"}, {3, "  +41 79 000"}, {4, "+1"}}, blank: 1},
		{name: "txt without final newline and with BOM", in: Input{Name: "-", R: strings.NewReader("\ufeff+41798284651\n+33612345678")},
			want: []value{{1, "+41798284651"}, {2, "+33612345678"}}},
		{name: "csv detects the phone header", in: Input{Name: "c.csv", R: strings.NewReader("id,Phone Number,name\n1,+41798284651,\"Doe, J\"\n2,,x\n,,\n3,+33612345678,y\n")},
			want: []value{{2, "+41798284651"}, {3, ""}, {5, "+33612345678"}}, blank: 1},
		{name: "csv named column", in: Input{Name: "c.csv", Column: "alt", R: strings.NewReader("phone,alt\n+1,+41798284651\n")},
			want: []value{{2, "+41798284651"}}},
		{name: "csv semicolons", in: Input{Name: "c.csv", R: strings.NewReader("name;msisdn\nA;+41798284651\n")},
			want: []value{{2, "+41798284651"}}},
		{name: "tsv", in: Input{Name: "c.tsv", R: strings.NewReader("mobile\tname\n+41798284651\tA\n")},
			want: []value{{2, "+41798284651"}}},
		{name: "headerless single column csv", in: Input{Name: "c.csv", R: strings.NewReader("+41798284651\n+33612345678\n")},
			want: []value{{1, "+41798284651"}, {2, "+33612345678"}}},
		{name: "multi-line quoted field keeps the row of the value", in: Input{Name: "c.csv", R: strings.NewReader("note,phone\n\"two\nlines\",+41798284651\n")},
			want: []value{{3, "+41798284651"}}},
		{name: "csv missing named column", in: Input{Name: "c.csv", Column: "tel", R: strings.NewReader("a,b\n")}, errMsg: `c.csv: no column "tel" (columns: a, b)`},
		{name: "csv ambiguous", in: Input{Name: "c.csv", R: strings.NewReader("a,b\n1,2\n")}, errMsg: "--column"},
		{name: "csv bad quote", in: Input{Name: "c.csv", R: strings.NewReader("phone\n\"+41\"x\n")}, errMsg: "c.csv: line 2"},
		{name: "unknown extension", in: Input{Name: "c.pdf", R: strings.NewReader("")}, errMsg: `unsupported input extension ".pdf"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, blank, err := readAll(t, tt.in)
			if tt.errMsg != "" {
				require.ErrorContains(t, err, tt.errMsg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.blank, blank)
		})
	}
}

func TestReadValuesLongLine(t *testing.T) {
	long := strings.Repeat("9", 3*maxLine)
	got, _, err := readAll(t, Input{Name: "a.txt", R: iotest.HalfReader(strings.NewReader("+41798284651\n" + long + "\n+33612345678\n"))})
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, 2, got[1].Row)
	require.LessOrEqual(t, len(got[1].Value), maxLine, "a long line is not read whole into memory")
	require.Equal(t, value{3, "+33612345678"}, got[2])
	n, _ := NewNormalizer("")
	_, reason := n.Normalize(got[1].Value)
	require.Equal(t, ReasonTooLong, reason)
}

func TestReadValuesIOError(t *testing.T) {
	_, _, err := readAll(t, Input{Name: "a.txt", R: iotest.TimeoutReader(strings.NewReader(strings.Repeat("+41798284651\n", 10000)))})
	require.ErrorContains(t, err, "a.txt: line")
}

// FuzzReadValues reads arbitrary bytes as the text inputs wadeep check
// takes (.txt, .csv, .tsv, .jsonl), with or without --column, seeded from
// testdata/inputs: every row is a number, a reject or a blank; no input has
// more rows than lines (a .txt exactly as many); a text file fails only for
// not being text; an error is one line naming the file and a line within
// it; and the enrich pass reads the rows planning read.
func FuzzReadValues(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "testdata/inputs/*.txt", "testdata/inputs/*.csv", "testdata/inputs/*.tsv", "testdata/inputs/*.jsonl") {
		f.Add(s.Data, s.Ext(), "")
		if s.Ext() != ".txt" {
			f.Add(s.Data, s.Ext(), "Mobile")
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, ext, column string) {
		switch ext {
		case ".txt", ".csv", ".tsv", ".jsonl":
		default:
			return
		}
		name := "f" + ext
		open := func() Input { return Input{Name: name, Column: column, R: bytes.NewReader(data)} }
		lines := lineCount(data)
		plan, err := NewPlan([]Input{open()}, PlanOptions{Region: "CH", ChunkSize: 3})
		if err != nil {
			requireInputError(t, err, name, lines)
			if ext == ".txt" && column == "" {
				require.ErrorContains(t, err, "text file", "a text input fails only for not being text")
			}
			return
		}
		requirePlanAccounts(t, plan, name, lines)
		if ext == ".txt" && column == "" {
			require.Equal(t, lines, plan.Rows, "a .txt has a row per line")
		}
		if ext != ".jsonl" {
			requireSameRows(t, open)
		}
	})
}

func TestCSVParseErrorKeepsItsPlace(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		line, col  int
	}{
		{"in a row", "phone\n+41798284651\n\"+41\"x\n", 3, 5},
		{"in the header", "\"phone\"x,b\n", 1, 7},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPlan([]Input{{Name: "c.csv", R: strings.NewReader(tt.text)}}, PlanOptions{})
			require.Error(t, err)
			var pe *csv.ParseError
			require.True(t, errors.As(err, &pe), "errors.As finds the *csv.ParseError in %v", err)
			require.Equal(t, tt.line, pe.Line)
			require.Equal(t, tt.col, pe.Column)
			require.ErrorIs(t, err, csv.ErrQuote)
			require.ErrorContains(t, err, fmt.Sprintf("connector: c.csv: line %d, column %d: ", tt.line, tt.col))
		})
	}
}
