package connector

import (
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/wadeep/wadeep/internal/phone"
)

// MaxValueLen is the longest input value looked at; longer ones are rejected
// as too long without parsing (a phone number with formatting and an
// extension fits well within it).
const MaxValueLen = 64

// regionHints answer the region codes people write that ISO does not have.
var regionHints = map[string]string{
	"UK": "the United Kingdom is GB",
	"EN": "England is part of GB",
	"EL": "Greece is GR",
	"SU": "the code is retired; give the country's own",
}

// Normalizer turns user-written phone numbers into E.164. Not safe for
// concurrent use (it reuses a parse buffer).
type Normalizer struct {
	region string           // default region for national formats, "" for none
	fast   *phone.Canonical // canonical E.164 without the full parse
}

// NewNormalizer returns a Normalizer; region (ISO 3166-1 alpha-2, like "CH")
// is the country assumed for numbers written without a "+" and calling code.
func NewNormalizer(region string) (*Normalizer, error) {
	region = strings.ToUpper(strings.TrimSpace(region))
	if region != "" && !phonenumbers.GetSupportedRegions()[region] {
		if hint, ok := regionHints[region]; ok {
			return nil, fmt.Errorf("connector: region %q is not an ISO 3166-1 alpha-2 code: %s", region, hint)
		}
		return nil, fmt.Errorf("connector: region %q is not a known ISO 3166-1 alpha-2 code (e.g. CH, DE, GB, US)", region)
	}
	return &Normalizer{region: region, fast: phone.NewCanonical()}, nil
}

// Normalize returns the E.164 form of v, or the reason it has none (see
// the Reason constants).
func (n *Normalizer) Normalize(v string) (string, Reason) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", ReasonEmpty
	case len(v) > MaxValueLen:
		return "", ReasonTooLong
	}
	if e, ok := n.fast.Valid(v); ok {
		return e, ""
	}
	if len(v) >= 3 && v[0] == '=' && v[1] == '"' && v[len(v)-1] == '"' {
		v = strings.TrimSpace(v[2 : len(v)-1]) // Excel's text-forcing ="0798284653"
	}
	num, err := phonenumbers.Parse(v, n.region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", n.why(v, num, err)
	}
	return phonenumbers.Format(num, phonenumbers.E164), ""
}
