package emulator

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Result is the synthetic profile the sandbox reports for a number: one row
// of the result file, or no row when Failed.
type Result struct {
	Number string
	// WhatsApp is false for numbers without an account; their picture
	// fields are empty.
	WhatsApp bool
	// Avatar is the profile picture URL, empty when there is none.
	Avatar string
	// Age is "" (no person in the picture), "unknown", a single age such as
	// "34", or a range such as "25-30". Single ages are numeric cells in the
	// result file, the others text.
	Age       string
	Category  string
	Gender    string
	HairColor string
	// Failed numbers are counted in the task's failure total and absent from
	// the result file. Lines that are not "+" and 8 to 15 digits always fail.
	Failed bool
}

// Profile returns the profile the sandbox reports for number under
// DefaultFailureRate. It depends on the number alone, so tests can compare a
// pipeline's output against it. Use Server.Profile under another failure rate.
func Profile(number string) Result {
	p, _ := synth(number, DefaultFailureRate)
	return p
}

// Profile returns the profile this sandbox reports for number, under its
// configured failure rate.
func (s *Server) Profile(number string) Result {
	p, _ := synth(number, s.cfg.failureRate)
	return p
}

var (
	hairColors = []string{"black", "black", "black", "brown", "brown", "brown", "blonde", "gray", "red", "white", "bald", "unknown"}
	// Labels copied from the contract's example, emitted only so that the
	// connector's drop rule for skin_color meets real data; it never keeps them.
	droppedLabels = []string{"white", "black", "unknown"}
)

// synth derives a number's profile from a hash of the number. The second
// value is the skin_color cell, made only for the connector to drop.
func synth(number string, failureRate float64) (Result, string) {
	p := Result{Number: number}
	if !validNumber(number) {
		p.Failed = true
		return p, ""
	}
	h := sha256.Sum256([]byte("wadeep-emulator-profile\x00" + number))
	r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(h[0:8]), binary.LittleEndian.Uint64(h[8:16])))
	// The failure draw comes first and alone so that failures are monotone in
	// the rate and independent of the profile mix below.
	if r.Float64() < failureRate {
		p.Failed = true
		return p, ""
	}
	if r.Float64() >= 0.8 {
		return p, ""
	}
	p.WhatsApp = true
	c := r.Float64()
	if c < 0.15 {
		p.Category = "no avatar"
		return p, ""
	}
	p.Avatar = fmt.Sprintf("https://example.com/avatars/%x.jpg", h[16:28])
	switch {
	case c < 0.62:
		p.Category = "individual portrait"
	case c < 0.72:
		p.Category = "group photo"
		p.Age = "unknown"
		return p, ""
	case c < 0.82:
		p.Category = "pet avatar"
		return p, ""
	case c < 0.90:
		p.Category = "object"
		return p, ""
	case c < 0.95:
		p.Category = "landscape"
		return p, ""
	default:
		p.Category = "logo"
		return p, ""
	}
	switch g := r.Float64(); {
	case g < 0.48:
		p.Gender = "male"
	case g < 0.96:
		p.Gender = "female"
	default:
		p.Gender = "unknown"
	}
	switch a := r.Float64(); {
	case a < 0.55:
		lo := 15 + 5*r.IntN(11)
		p.Age = strconv.Itoa(lo) + "-" + strconv.Itoa(lo+5)
	case a < 0.90:
		p.Age = strconv.Itoa(16 + r.IntN(60))
	default:
		p.Age = "unknown"
	}
	p.HairColor = hairColors[r.IntN(len(hairColors))]
	return p, droppedLabels[r.IntN(len(droppedLabels))] // skin_color: the connector drops it
}
