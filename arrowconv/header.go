package arrowconv

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/wadeep/wadeep/internal/colname"
	"github.com/wadeep/wadeep/internal/xlsx"
)

// source says what a result column feeds.
type source uint8

const (
	srcIgnore source = iota // empty header cell: nothing to carry
	srcNumber
	srcWhatsApp
	srcAvatar
	srcAge
	srcCategory
	srcGender
	srcHairColor
	srcDropped // never carried: see NeverCarried
	srcExtra   // unknown column, passed through as utf8
)

// knownKeys maps a header, reduced by headerKey, to what it feeds.
var knownKeys = map[string]source{
	"number":     srcNumber,
	"phone":      srcNumber,
	"whatsapp":   srcWhatsApp,
	"avatar":     srcAvatar,
	"age":        srcAge,
	"category":   srcCategory,
	"gender":     srcGender,
	"haircolor":  srcHairColor,
	"haircolour": srcHairColor,
}

// requiredSources are the documented result columns a file must have; the
// reader cannot tell a checked number from a failed one without them.
var requiredSources = []struct {
	src  source
	name string
}{
	{srcNumber, "Number"},
	{srcWhatsApp, "whatsapp"},
	{srcAvatar, "avatar"},
	{srcAge, "age"},
	{srcCategory, "category"},
	{srcGender, "gender"},
	{srcHairColor, "hair_color"},
}

// NeverCarried reports whether a column name names data wadeep never
// carries: race or ethnicity inferred from a face (DESIGN §3,
// docs/privacy.md). Such columns are dropped on read and never written; the
// rule errs wide, since a new spelling must not slip through: any name that,
// after Unicode compatibility folding, mentions skin colour or tone, anything
// ethnic, or the word race; all dropped (skin_color, "Skin Colour (detected)",
// "Ethnicity/Race", race_ethnicity, full-width ｓｋｉｎ＿ｃｏｌｏｒ).
func NeverCarried(name string) bool {
	key := colname.Key(name)
	if strings.Contains(key, "skin") && (strings.Contains(key, "color") || strings.Contains(key, "colour") || strings.Contains(key, "tone")) {
		return true
	}
	if strings.Contains(key, "ethnic") {
		return true
	}
	for _, word := range strings.Split(snakeName(norm.NFKC.String(name)), "_") {
		if word == "race" || word == "races" || word == "racial" {
			return true
		}
	}
	return false
}

// snakeName is the output name of a pass-through column: lower snake case.
func snakeName(h string) string {
	var b strings.Builder
	pendingSep := false
	prevLower := false
	for _, r := range strings.TrimSpace(h) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if unicode.IsUpper(r) && prevLower {
				pendingSep = true
			}
			if pendingSep && b.Len() > 0 {
				b.WriteByte('_')
			}
			pendingSep = false
			b.WriteRune(unicode.ToLower(r))
			prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
		default:
			pendingSep = true
			prevLower = false
		}
	}
	return b.String()
}

// maxPassThrough bounds the unknown columns carried through: a result has
// eight columns, and each extra column costs every row of every batch.
const maxPassThrough = 256

// headerMap is the resolved header row of a result sheet.
type headerMap struct {
	cols   []source // by sheet column index (0-based)
	extra  []int    // for srcExtra columns: position among the pass-through fields
	extras []string // pass-through field names, in sheet order
}

// sourceAt returns what sheet column i feeds; columns past the header feed nothing.
func (h *headerMap) sourceAt(i int) source {
	if i < len(h.cols) {
		return h.cols[i]
	}
	return srcIgnore
}

// mapHeader resolves a header row. It fails when a documented column is
// missing or a column appears twice; with allowMissing, missing documented
// columns other than Number come out null instead.
func mapHeader(cells []string, allowMissing bool) (*headerMap, error) {
	h := &headerMap{cols: make([]source, len(cells)), extra: make([]int, len(cells))}
	seen := map[source]int{}
	seenExtra := map[string]int{}
	fixed := map[string]bool{}
	for _, f := range fixedFields {
		fixed[f.Name] = true
	}
	for i, c := range cells {
		key := colname.Key(c)
		switch {
		case key == "":
			h.cols[i] = srcIgnore
		case NeverCarried(c):
			h.cols[i] = srcDropped
		case knownKeys[key] != 0:
			src := knownKeys[key]
			if prev, dup := seen[src]; dup {
				return nil, fmt.Errorf("header %q in column %s repeats column %s", c, xlsx.ColumnName(i), xlsx.ColumnName(prev))
			}
			seen[src] = i
			h.cols[i] = src
		default:
			name := snakeName(c)
			if fixed[name] {
				// An upstream column named like one we derive (say "country")
				// must not shadow ours; keep it under a prefixed name.
				name = "upstream_" + name
			}
			if prev, dup := seenExtra[name]; dup {
				return nil, fmt.Errorf("header %q in column %s repeats column %s", c, xlsx.ColumnName(i), xlsx.ColumnName(prev))
			}
			seenExtra[name] = i
			h.cols[i] = srcExtra
			h.extra[i] = len(h.extras)
			h.extras = append(h.extras, name)
		}
	}
	if len(h.extras) > maxPassThrough {
		return nil, fmt.Errorf("header has %d unknown columns, more than the %d passed through: this does not look like an upstream result", len(h.extras), maxPassThrough)
	}
	var missing []string
	for _, r := range requiredSources {
		if _, ok := seen[r.src]; ok {
			continue
		}
		if allowMissing && r.src != srcNumber {
			continue
		}
		missing = append(missing, r.name)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("header lacks column(s) %s", strings.Join(missing, ", "))
	}
	return h, nil
}
