package connector

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wadeep/wadeep/internal/colname"
)

// Header names (reduced by colname.Key) that name a phone column, in two
// ranks. WhatsApp lives on mobiles, so a mobile-like header outranks a
// generic phone one (often a landline). Names in German, French, Spanish,
// Italian and Portuguese are there too.
var (
	mobileHeaders = []string{
		"e164", "mobile", "mobilenumber", "mobilephone", "mobileno", "mobil", "mobiltelefon", "mobilnummer",
		"cell", "cellphone", "cellular", "cellnumber", "whatsapp", "whatsappnumber", "msisdn", "gsm",
		"handy", "handynummer", "natel", "natelnummer", "portable", "telephoneportable", "numeroportable",
		"movil", "telefonomovil", "celular", "numerocelular", "cellulare", "numerocellulare",
		"telemovel", "telefonecelular",
	}
	phoneHeaders = []string{
		"phone", "phonenumber", "phoneno", "telephone", "telephonenumber", "tel", "telefon", "telefonnummer",
		"telefono", "telefone", "numerodetelephone", "numerodetelefono", "contactnumber",
		"number", "numero", "nummer",
	}
)

// headerRank is 2 for a mobile-like header, 1 for a phone one, else 0.
func headerRank(h string) int {
	k := colname.Key(h)
	for _, m := range mobileHeaders {
		if k == m {
			return 2
		}
	}
	for _, p := range phoneHeaders {
		if k == p {
			return 1
		}
	}
	return 0
}

// columnPick is the column an input's numbers are read from.
type columnPick struct {
	col    int
	header bool     // the first record is the header
	others []string // other candidate headers, best first, for the user to see
}

// wadeepOutput reports whether header is a wadeep profile output (or an
// enriched one): its number column is the one to read, never whatsapp.
func wadeepOutput(header []string) (int, bool) {
	num, seen := -1, 0
	for i, h := range header {
		switch colname.Key(h) {
		case "number":
			num = i
		case "status", "whatsapp", "checkedat", "taskid":
			seen++
		}
	}
	return num, num >= 0 && seen >= 2
}

// pickColumn finds the phone column: the one named by in.Column, else the
// best-ranked header among those usable can hold a phone number (a typed
// column of bool, date or float cannot), else the only column. Two
// candidates of the same best rank are refused: the user names one.
func pickColumn(in Input, header []string, usable func(int) bool) (columnPick, error) {
	if usable == nil {
		usable = func(int) bool { return true }
	}
	if in.Column != "" {
		want := colname.Key(in.Column)
		for i, h := range header {
			if h == in.Column || colname.Key(h) == want {
				return columnPick{col: i, header: true}, nil
			}
		}
		return columnPick{}, fmt.Errorf("connector: %s: no column %s (columns: %s)", in.Name, showName(in.Column, true), nameList(header, false))
	}
	if i, ok := wadeepOutput(header); ok && usable(i) {
		return columnPick{col: i, header: true}, nil
	}
	type cand struct{ i, rank int }
	var cands []cand
	for rank := 2; rank >= 1; rank-- {
		for i, h := range header {
			if headerRank(h) == rank && usable(i) {
				cands = append(cands, cand{i, rank})
			}
		}
	}
	if len(cands) > 0 {
		best := cands[0]
		var ties, others []string
		for _, c := range cands[1:] {
			if c.rank == best.rank {
				ties = append(ties, header[c.i])
			}
			others = append(others, header[c.i])
		}
		if len(ties) > 0 {
			return columnPick{}, fmt.Errorf("connector: %s: columns %s and %s could each hold the phone numbers; name one with --column", in.Name, showName(header[best.i], true), nameList(ties, true))
		}
		return columnPick{col: best.i, header: true, others: others}, nil
	}
	if len(header) == 1 && usable(0) {
		return columnPick{col: 0, header: !looksLikeNumber(header[0])}, nil
	}
	return columnPick{}, fmt.Errorf("connector: %s: cannot tell which column holds the phone numbers; name it with --column (columns: %s)", in.Name, nameList(header, false))
}

// maxListed is how many column names an error lists.
const maxListed = 20

// nameList shows an input's column names in an error, as showName does;
// at most maxListed of them, then how many there are in all.
func nameList(names []string, quote bool) string {
	parts := make([]string, 0, min(len(names), maxListed+1))
	for i, n := range names {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("… %d in all", len(names)))
			break
		}
		parts = append(parts, showName(n, quote))
	}
	return strings.Join(parts, ", ")
}

// showName is one column name as an error shows it: as it is, or quoted
// when quote is set or it holds a line break, a control character, a
// comma or a quote (so that the error stays one line and a list of names
// reads back), cut when long.
func showName(n string, quote bool) string {
	const long = 40
	if r := []rune(n); len(r) > long {
		return strconv.Quote(string(r[:long]) + "…")
	}
	if quote || strings.ContainsAny(n, `,"`) {
		return strconv.Quote(n)
	}
	return printable(n)
}

// printable is s as it is when it is printable text, else quoted: what
// goes into an error from a file stays on one line.
func printable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return s
	}
	return strconv.Quote(s)
}

// looksLikeNumber reports whether s is mostly digits: a phone value rather than a header.
func looksLikeNumber(s string) bool {
	digits, other := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-() ./", r):
		default:
			other++
		}
	}
	return digits >= 4 && other <= 1
}
