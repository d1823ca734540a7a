package connector

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// DefaultChunkSize is the most numbers in one upload file: the size of the
// upstream's documented example task.
const DefaultChunkSize = 20000

// Plan is what reading the inputs decided: the distinct numbers to check,
// in first-seen order and cut into upload chunks, and every row that is not
// uploaded. Rows = Numbers + Rejects + Blank, always.
type Plan struct {
	Numbers []string // distinct E.164 numbers, in input order
	Origin  []RowRef // Origin[i] is the row Numbers[i] was first seen in
	Chunks  []Chunk
	Rejects []Reject
	Rows    int // input rows read, blank ones included
	Blank   int // blank lines and records, skipped
}

// Chunk is one upload file's worth of numbers.
type Chunk struct {
	Index   int      // 0-based position in the plan
	Numbers []string // a window of Plan.Numbers
	First   int      // index in Plan.Numbers of Numbers[0]
	Hash    string   // sha256 of the upload file's bytes, hex
}

// Body is the upload file: one number per line.
func (c Chunk) Body() []byte {
	n := 0
	for _, s := range c.Numbers {
		n += len(s) + 1
	}
	b := make([]byte, 0, n)
	for _, s := range c.Numbers {
		b = append(b, s...)
		b = append(b, '\n')
	}
	return b
}

// Rejected counts rejects by reason.
func (p *Plan) Rejected() map[Reason]int {
	m := map[Reason]int{}
	for _, r := range p.Rejects {
		m[r.Reason]++
	}
	return m
}

// PlanOptions tune how inputs become upload chunks.
type PlanOptions struct {
	Region    string // default region for national formats (ISO 3166-1 alpha-2)
	ChunkSize int    // numbers per upload file; 0 means DefaultChunkSize
}

// NewPlan reads every input, normalises and deduplicates its values and cuts
// the distinct numbers into chunks. Numbers are deduplicated across inputs.
func NewPlan(inputs []Input, opts PlanOptions) (*Plan, error) {
	size := opts.ChunkSize
	if size == 0 {
		size = DefaultChunkSize
	}
	if size < 0 {
		return nil, fmt.Errorf("connector: chunk size %d: want a positive number", size)
	}
	norm, err := NewNormalizer(opts.Region)
	if err != nil {
		return nil, err
	}
	p := &Plan{}
	first := map[string]int{} // number → index in p.Numbers
	for _, in := range inputs {
		blank, err := readValues(in, func(row int, value string) {
			p.Rows++
			e164, reason := norm.Normalize(value)
			if reason == "" {
				if i, dup := first[e164]; dup {
					p.Rejects = append(p.Rejects, Reject{File: in.Name, Row: row, Value: cut(value), Reason: ReasonDuplicate, DuplicateOf: p.Origin[i]})
					return
				}
				first[e164] = len(p.Numbers)
				p.Numbers = append(p.Numbers, e164)
				p.Origin = append(p.Origin, RowRef{File: in.Name, Row: row})
				return
			}
			p.Rejects = append(p.Rejects, Reject{File: in.Name, Row: row, Value: cut(value), Reason: reason})
		})
		p.Rows += blank
		p.Blank += blank
		if err != nil {
			return nil, err
		}
	}
	for i := 0; i < len(p.Numbers); i += size {
		nums := p.Numbers[i:min(i+size, len(p.Numbers))]
		c := Chunk{Index: len(p.Chunks), Numbers: nums, First: i}
		sum := sha256.Sum256(c.Body())
		c.Hash = hex.EncodeToString(sum[:])
		p.Chunks = append(p.Chunks, c)
	}
	return p, nil
}

// cut keeps a rejected value short enough for a rejects file.
func cut(v string) string {
	v = strings.TrimSpace(v)
	if utf8.RuneCountInString(v) <= MaxValueLen+1 {
		return v
	}
	n := 0
	for i := range v {
		if n == MaxValueLen {
			return v[:i] + "…"
		}
		n++
	}
	return v
}
