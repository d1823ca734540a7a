// Package colname matches column headers the way people write them: by
// their letters and digits, whatever the case, spacing, punctuation or
// Unicode width. Result headers (arrowconv) and input headers (connector)
// are matched by the same rule.
package colname

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Key reduces a header to lower-case letters and digits, after
// Unicode compatibility folding with accents dropped, so that "Hair Color",
// "hair_color", "HAIRCOLOR" and a full-width "ｈａｉｒ＿ｃｏｌｏｒ" all
// match, and so do "Téléphone" and "Telephone".
func Key(h string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(h) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}
