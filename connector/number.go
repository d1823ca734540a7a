package connector

import (
	"strconv"
)

// Number is an E.164 number in 8 bytes: the digits after the + as an
// integer. E.164 numbers have at most 15 digits and no leading zero, so the
// integer gives the digits back; a plan of millions of numbers holds them
// in a fraction of what strings take (docs/scaling.md).
type Number uint64

// ParseNumber reads a number in E.164 ("+" and 1 to 15 digits, the first
// not 0).
func ParseNumber(e164 string) (Number, bool) {
	if len(e164) < 2 || len(e164) > 16 || e164[0] != '+' || e164[1] == '0' {
		return 0, false
	}
	var n uint64
	for i := 1; i < len(e164); i++ {
		c := e164[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return Number(n), true
}

// String is the number in E.164.
func (n Number) String() string {
	var buf [16]byte
	return string(n.append(buf[:0]))
}

func (n Number) append(b []byte) []byte {
	return strconv.AppendUint(append(b, '+'), uint64(n), 10)
}

// Numbers is a list of numbers.
type Numbers []Number

// Strings is the list in E.164, one string each.
func (ns Numbers) Strings() []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.String()
	}
	return out
}
