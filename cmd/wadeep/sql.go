package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wadeep/wadeep/harness"
)

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// cmdSQL runs one SQL statement over a wadeep database, or over wadeep's
// output files, and prints the result.
func cmdSQL(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "sql", `[--db FILE] [--from FILE...] [--format table|csv|json] "QUERY"`)
	dbPath := fs.String("db", "", "a DuckDB file written by check --out FILE.duckdb")
	var from listFlag
	fs.Var(&from, "from", "an output of wadeep (.parquet, .csv, .arrow) to query as profiles, rejects, tasks or enriched (repeatable)")
	format := fs.String("format", "table", "table (aligned, cut to the terminal's width), csv or json")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch *format {
	case "table", "csv", "json":
	default:
		return usagef("--format %q: want table, csv or json", *format)
	}
	query := strings.TrimSpace(strings.Join(pos, " "))
	if query == "" {
		b, err := io.ReadAll(env.stdin)
		if err != nil {
			return err
		}
		query = strings.TrimSpace(string(b))
	}
	if query == "" {
		return usagef("no QUERY given (as an argument or on stdin)")
	}
	var d *harness.DB
	switch {
	case *dbPath != "" && len(from) > 0:
		return usagef("--db and --from: give one (--from makes an in-memory database of the files)")
	case *dbPath != "":
		if _, err := os.Stat(*dbPath); err != nil {
			return usagef("--db %s: %v", *dbPath, err)
		}
		d, err = harness.Open(*dbPath)
	default:
		d, err = harness.OpenFiles(ctx, from)
	}
	if err != nil {
		return err
	}
	defer d.Close()
	rows, err := d.Conn().QueryContext(ctx, query)
	if err != nil {
		return sqlError(err)
	}
	defer rows.Close()
	switch *format {
	case "csv":
		err = printCSV(env.stdout, rows)
	case "json":
		err = printJSON(env.stdout, rows)
	default:
		err = printTable(env.stdout, rows, termWidth(env.stdout))
	}
	if err != nil {
		return sqlError(err)
	}
	return nil
}

// sqlError shows DuckDB's message as it is: it names the kind of error and,
// for a parser or binder error, the line and the position.
func sqlError(err error) error {
	return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "harness: "))
}

// scanRow reads the current row as Go values.
func scanRow(rows *sql.Rows, n int) ([]any, error) {
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	return vals, rows.Scan(ptrs...)
}

// text renders a value for table and CSV output; null is "".
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case time.Time:
		if v.Hour() == 0 && v.Minute() == 0 && v.Second() == 0 && v.Nanosecond() == 0 && v.Location() == time.UTC {
			return v.Format(time.RFC3339)
		}
		return v.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32)
	case *big.Int:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

func printCSV(w io.Writer, rows *sql.Rows) error {
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write(cols)
	rec := make([]string, len(cols))
	for rows.Next() {
		vals, err := scanRow(rows, len(cols))
		if err != nil {
			return err
		}
		for i, v := range vals {
			rec[i] = text(v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := rows.Err(); err != nil {
		return err
	}
	return cw.Error()
}

// printJSON writes a JSON array of one object per row, keys in column
// order, nulls as null.
func printJSON(w io.Writer, rows *sql.Rows) error {
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	keys := make([][]byte, len(cols))
	for i, c := range cols {
		keys[i], _ = json.Marshal(c)
	}
	io.WriteString(w, "[")
	n := 0
	for rows.Next() {
		vals, err := scanRow(rows, len(cols))
		if err != nil {
			return err
		}
		if n > 0 {
			io.WriteString(w, ",")
		}
		io.WriteString(w, "\n{")
		for i, v := range vals {
			if i > 0 {
				io.WriteString(w, ",")
			}
			w.Write(keys[i])
			io.WriteString(w, ":")
			b, err := json.Marshal(jsonValue(v))
			if err != nil {
				return err
			}
			w.Write(b)
		}
		io.WriteString(w, "}")
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n > 0 {
		io.WriteString(w, "\n")
	}
	_, err = io.WriteString(w, "]\n")
	return err
}

func jsonValue(v any) any {
	switch v := v.(type) {
	case time.Time:
		return text(v)
	case []byte:
		return string(v)
	case *big.Int:
		return json.Number(v.String())
	case float64:
		if v != v || v > 1e308 || v < -1e308 {
			return text(v) // NaN and infinities are not JSON numbers
		}
	}
	return v
}

// printTable writes an aligned table, numbers to the right, each line cut
// to width (no cut when width is 0), and the row count.
func printTable(w io.Writer, rows *sql.Rows, width int) error {
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	types, _ := rows.ColumnTypes()
	right := make([]bool, len(cols))
	for i, t := range types {
		switch t.DatabaseTypeName() {
		case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL":
			right[i] = true
		}
		if strings.HasPrefix(t.DatabaseTypeName(), "DECIMAL") {
			right[i] = true
		}
	}
	const maxCell = 40
	table := [][]string{cols}
	for rows.Next() {
		vals, err := scanRow(rows, len(cols))
		if err != nil {
			return err
		}
		rec := make([]string, len(cols))
		for i, v := range vals {
			rec[i] = cutCell(strings.ReplaceAll(text(v), "\n", " "), maxCell)
			if v == nil {
				rec[i] = "NULL"
			}
		}
		table = append(table, rec)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	writeTable(w, table, right, width)
	n := len(table) - 1
	fmt.Fprintf(w, "(%d row%s)\n", n, map[bool]string{true: "", false: "s"}[n == 1])
	return nil
}

// writeTable writes rows (the first the header) as aligned columns, two
// spaces apart, a rule of dashes under the header; columns marked right are
// aligned right. Each line is cut to width runes (0: no cut).
func writeTable(w io.Writer, rows [][]string, right []bool, width int) {
	if len(rows) == 0 {
		return
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	line := func(r []string) string {
		var b strings.Builder
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			switch {
			case right[i]:
				b.WriteString(pad + c)
			case i < len(r)-1:
				b.WriteString(c + pad)
			default:
				b.WriteString(c)
			}
		}
		return cutCell(strings.TrimRight(b.String(), " "), width)
	}
	fmt.Fprintln(w, line(rows[0]))
	rule := make([]string, len(widths))
	for i := range rule {
		rule[i] = strings.Repeat("-", widths[i])
	}
	fmt.Fprintln(w, line(rule))
	for _, r := range rows[1:] {
		fmt.Fprintln(w, line(r))
	}
}

// cutCell cuts s to n runes, the last one an ellipsis; n = 0 is no cut.
func cutCell(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// termWidth is the width to cut table lines to: $COLUMNS, else the
// terminal's, else 0 (no cut, for a pipe or a file).
func termWidth(w io.Writer) int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	return terminalWidth(f)
}
