package arrowconv

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// resultHeader is the upstream's column layout; the reader drops skin_color.
var resultHeader = []string{"Number", "whatsapp", "avatar", "age", "category", "gender", "hair_color", "skin_color"}

// genOpts shapes the rows genRows makes.
type genOpts struct {
	rangeAges     bool // ages like "25-30" as well as "25"
	numericAge    bool // single ages as numeric cells
	numericNumber bool // Number as a numeric cell (no "+")
	failed        bool // some rows with an empty whatsapp (the upstream failed)
	blank         bool // some all-empty rows
	sparse        bool // empty cells left out (nil), as sparse writers do
}

// callingCodes weights a realistic spread of numbers, shared codes included.
var callingCodes = []struct {
	code   string
	digits int
	weight int
}{
	{"1", 10, 18}, {"44", 10, 8}, {"7", 10, 5}, {"49", 11, 7}, {"33", 9, 5},
	{"41", 9, 3}, {"55", 11, 10}, {"91", 10, 14}, {"62", 10, 6}, {"234", 10, 6},
	{"52", 10, 6}, {"39", 10, 4}, {"34", 9, 4}, {"27", 9, 4},
}

// nanpAreas are area codes of the US, Canada and the Caribbean.
var nanpAreas = []string{
	"201", "202", "206", "212", "213", "214", "305", "312", "404", "415", "512", "617",
	"646", "702", "713", "718", "773", "818", "917", "416", "514", "604", "403", "876", "787",
}

var (
	categories = []string{"individual portrait", "pet avatar", "object", "group photo", "landscape", "cartoon"}
	genders    = []string{"male", "female"}
	hairs      = []string{"black", "brown", "blonde", "red", "gray", "unknown"}
	skins      = []string{"a", "b", "c", "d"} // placeholder values of the column the reader drops
)

func genNumber(r *rand.Rand) string {
	total := 0
	for _, c := range callingCodes {
		total += c.weight
	}
	w := r.IntN(total)
	for _, c := range callingCodes {
		if w < c.weight {
			b := []byte("+" + c.code)
			switch c.code {
			case "1": // NANP: a real area code, an exchange starting 2-9
				b = append(b, nanpAreas[r.IntN(len(nanpAreas))]...)
				b = append(b, byte('2'+r.IntN(8)))
				for range 6 {
					b = append(b, byte('0'+r.IntN(10)))
				}
			case "55": // Brazil: area code 11-99, then a mobile 9xxxxxxxx
				b = append(b, byte('1'+r.IntN(9)), byte('1'+r.IntN(9)), '9')
				for range 8 {
					b = append(b, byte('0'+r.IntN(10)))
				}
			case "44", "7": // mobile ranges: 7xxx in the UK, 9xx in Russia
				b = append(b, map[string]byte{"44": '7', "7": '9'}[c.code])
				for range c.digits - 1 {
					b = append(b, byte('0'+r.IntN(10)))
				}
			default: // not a national prefix (0, or 1 in Mexico)
				b = append(b, byte('2'+r.IntN(8)))
				for range c.digits - 1 {
					b = append(b, byte('0'+r.IntN(10)))
				}
			}
			return string(b)
		}
		w -= c.weight
	}
	return "+41798284651"
}

// genRows makes n result rows in resultHeader order, deterministic by seed.
// Cells are string, int, int64 or nil (empty).
func genRows(n int, seed uint64, o genOpts) [][]any {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	rows := make([][]any, 0, n)
	for range n {
		rows = append(rows, genRow(r, o))
	}
	return rows
}

// genRow makes one result row.
func genRow(r *rand.Rand, o genOpts) []any {
	const hex = "0123456789abcdef"
	row := make([]any, len(resultHeader))
	if o.blank && r.IntN(50) == 0 {
		return row
	}
	num := genNumber(r)
	row[0] = num
	if o.numericNumber && r.IntN(2) == 0 {
		v, _ := strconv.ParseInt(num[1:], 10, 64)
		row[0] = v
	}
	if o.failed && r.IntN(20) == 0 {
		return row
	}
	if r.IntN(4) == 0 {
		row[1] = "no"
		return fill(row, o)
	}
	row[1] = "yes"
	if r.IntN(5) != 0 {
		b := []byte("https://pps.whatsapp.net/v/t61.2469-24/")
		for range 20 {
			b = append(b, hex[r.IntN(16)])
		}
		b = append(b, ".jpg"...)
		row[2] = string(b)
		age := 18 + r.IntN(50)
		switch {
		case o.rangeAges && r.IntN(2) == 0:
			row[3] = fmt.Sprintf("%d-%d", age, age+5)
		case o.numericAge:
			row[3] = age
		default:
			row[3] = strconv.Itoa(age)
		}
		row[4] = categories[r.IntN(len(categories))]
		row[5] = genders[r.IntN(len(genders))]
		row[6] = hairs[r.IntN(len(hairs))]
		row[7] = skins[r.IntN(len(skins))]
	}
	return fill(row, o)
}

// fill writes empty cells as empty strings, unless the file is sparse.
func fill(row []any, o genOpts) []any {
	if !o.sparse {
		for i, c := range row {
			if c == nil {
				row[i] = ""
			}
		}
	}
	return row
}

// sheetSpec is one sheet of a generated workbook.
type sheetSpec struct {
	name string
	rows [][]any // the first row is the header
	gap  int     // rows left out between data rows every 7 rows (row gaps)
}

// writeStream writes sheets with excelize's StreamWriter (inline strings).
// When the first sheet is not named Sheet1, Sheet1 is deleted afterwards so
// that the first sheet's part is not sheet1.xml.
func writeStream(tb testing.TB, path string, sheets ...sheetSpec) {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for _, s := range sheets {
		if s.name != "Sheet1" {
			_, err := f.NewSheet(s.name)
			require.NoError(tb, err)
		}
		sw, err := f.NewStreamWriter(s.name)
		require.NoError(tb, err)
		rowNum := 1
		for i, row := range s.rows {
			require.NoError(tb, sw.SetRow("A"+strconv.Itoa(rowNum), row))
			rowNum++
			if s.gap > 0 && i%7 == 6 {
				rowNum += s.gap
			}
		}
		require.NoError(tb, sw.Flush())
	}
	finish(tb, f, path, sheets)
}

// writeCells writes sheets with excelize's cell API (shared strings).
func writeCells(tb testing.TB, path string, sheets ...sheetSpec) {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for _, s := range sheets {
		if s.name != "Sheet1" {
			_, err := f.NewSheet(s.name)
			require.NoError(tb, err)
		}
		rowNum := 1
		for i, row := range s.rows {
			for j, v := range row {
				if v == nil {
					continue
				}
				cell, err := excelize.CoordinatesToCellName(j+1, rowNum)
				require.NoError(tb, err)
				require.NoError(tb, f.SetCellValue(s.name, cell, v))
			}
			rowNum++
			if s.gap > 0 && i%7 == 6 {
				rowNum += s.gap
			}
		}
	}
	finish(tb, f, path, sheets)
}

func finish(tb testing.TB, f *excelize.File, path string, sheets []sheetSpec) {
	tb.Helper()
	if sheets[0].name != "Sheet1" {
		keep := false
		for _, s := range sheets {
			keep = keep || s.name == "Sheet1"
		}
		if !keep {
			require.NoError(tb, f.DeleteSheet("Sheet1"))
		}
	}
	f.SetActiveSheet(0)
	require.NoError(tb, f.SaveAs(path))
}

// withHeader prepends header to rows.
func withHeader(header []string, rows [][]any) [][]any {
	h := make([]any, len(header))
	for i, s := range header {
		h[i] = s
	}
	return append([][]any{h}, rows...)
}

// tempXLSX returns a path for a generated file in a test's temp dir.
func tempXLSX(tb testing.TB, name string) string {
	return filepath.Join(tb.TempDir(), name+".xlsx")
}

func fileSize(tb testing.TB, path string) int64 {
	st, err := os.Stat(path)
	require.NoError(tb, err)
	return st.Size()
}
