package privacy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"sync"
)

// Pseudonymizer replaces numbers by their pseudonym: the lower-case hex of
// HMAC-SHA-256 over the E.164 number's bytes, keyed with the key. The same
// key gives the same pseudonym in every run, so tables written apart still
// join; without the key a pseudonym cannot be turned back into its number
// (short of trying every number with the key). Safe for concurrent use.
type Pseudonymizer struct {
	key  []byte
	macs sync.Pool
}

// NewPseudonymizer returns a Pseudonymizer keyed with key (at least
// MinKeyLen bytes; the slice is copied).
func NewPseudonymizer(key []byte) (*Pseudonymizer, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("privacy: key of %d bytes, want at least %d", len(key), MinKeyLen)
	}
	p := &Pseudonymizer{key: append([]byte(nil), key...)}
	p.macs.New = func() any { return hmac.New(sha256.New, p.key) }
	return p, nil
}

// Number is the pseudonym of an E.164 number: 64 lower-case hex digits.
func (p *Pseudonymizer) Number(e164 string) string {
	return p.sum(e164)
}

func (p *Pseudonymizer) sum(s string) string {
	m := p.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(s))
	var buf [sha256.Size]byte
	out := hex.EncodeToString(m.Sum(buf[:0]))
	p.macs.Put(m)
	return out
}

// Value is what a rejected input value becomes: the pseudonym of its number
// when it has one (e164 not empty: a duplicate), else, when it holds any
// digit (it may be part of a number), the same HMAC over the value as
// given; a value without a digit cannot hold a number and is kept.
func (p *Pseudonymizer) Value(value, e164 string) string {
	switch {
	case e164 != "":
		return p.sum(e164)
	case hasDigit(value):
		return p.sum(value)
	}
	return value
}

// Text replaces every run of a '+' and 7 to 15 digits in s (an E.164
// number, as a reject's detail may quote one) by its pseudonym.
func (p *Pseudonymizer) Text(s string) string {
	var out []byte
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '+' {
			continue
		}
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if n := j - i - 1; n >= 7 && n <= 15 {
			out = append(out, s[last:i]...)
			out = append(out, p.sum(s[i:j])...)
			last = j
		}
		i = j - 1
	}
	if out == nil {
		return s
	}
	return string(append(out, s[last:]...))
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}

// KeyID names the key without giving it away: 16 hex digits of an HMAC of
// a fixed text. A table or cache can record it, so that one written with
// another key is told apart (their pseudonyms would never match).
func (p *Pseudonymizer) KeyID() string { return p.sum("wadeep pseudonym key id")[:16] }
