package connector

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wadeep/wadeep/privacy"
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
	Rows    int // input rows read (this shard's), blank ones included
	Blank   int // blank lines and records, skipped

	// Options are the options the plan was made with (defaults applied),
	// and Inputs says how each input was read: with the chunks they name
	// the job (see OpenJournal), and Enrich reads the inputs a second time
	// against them.
	Options PlanOptions
	Inputs  []Source

	// Cached lists the numbers UseCache found fresh in a cache, in input
	// order: they are in Numbers but in no chunk. Nil without a cache.
	Cached []string
}

// Chunk is one upload file's worth of numbers.
type Chunk struct {
	Index   int      // 0-based position in the plan
	Numbers []string // a window of Plan.Numbers (of those not Cached, after UseCache)
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
	Shard     Shard  // the share of the input this worker takes; zero means all
	// Privacy applies to every table made from the plan: the Job's
	// profiles, RejectRecords and Enrich. It is not part of the job's
	// identity: the journal keeps numbers in clear to resume
	// (docs/privacy.md), so a rerun with another policy resumes the same
	// tasks.
	Privacy privacy.Policy
}

// Shard is worker K of N (1-based): the share of an input that one of N
// workers takes, decided by a hash of each number (or, for rows with no
// number, of the row's place), so that N workers reading the same input
// need no coordination and their outputs and rejects union to the whole.
type Shard struct{ K, N int }

// ParseShard reads "K/N".
func ParseShard(s string) (Shard, error) {
	var sh Shard
	if s == "" {
		return sh, nil
	}
	if _, err := fmt.Sscanf(s, "%d/%d", &sh.K, &sh.N); err != nil || sh.N < 1 || sh.K < 1 || sh.K > sh.N || fmt.Sprintf("%d/%d", sh.K, sh.N) != s {
		return Shard{}, fmt.Errorf("connector: shard %q: want K/N with 1 <= K <= N, e.g. 2/4", s)
	}
	return sh, nil
}

func (sh Shard) String() string {
	if sh.N <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", sh.K, sh.N)
}

// takes reports whether this shard owns the key.
func (sh Shard) takes(key string) bool {
	if sh.N <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64()%uint64(sh.N)) == sh.K-1
}

// NewPlan reads every input, normalises and deduplicates its values and cuts
// the distinct numbers into chunks. Numbers are deduplicated across inputs.
// With a Shard, every input is still read whole (duplicates are found across
// shards), and only the shard's rows are kept.
func NewPlan(inputs []Input, opts PlanOptions) (*Plan, error) {
	size := opts.ChunkSize
	if size == 0 {
		size = DefaultChunkSize
	}
	if size < 0 {
		return nil, fmt.Errorf("connector: chunk size %d: want a positive number", size)
	}
	if opts.Shard.N > 1 && (opts.Shard.K < 1 || opts.Shard.K > opts.Shard.N) {
		return nil, fmt.Errorf("connector: shard %d/%d: want 1 <= K <= N", opts.Shard.K, opts.Shard.N)
	}
	norm, err := NewNormalizer(opts.Region)
	if err != nil {
		return nil, err
	}
	sh := opts.Shard
	p := &Plan{Options: PlanOptions{Region: strings.ToUpper(opts.Region), ChunkSize: size, Shard: sh, Privacy: opts.Privacy}}
	first := map[string]RowRef{} // number → the row it was first seen in, all shards
	for _, in := range inputs {
		src := Source{Name: in.Name}
		err := readValues(in, &src, func(row int, value string, blank bool) {
			src.Rows++
			ref := RowRef{File: in.Name, Row: row}
			if blank {
				if sh.takes(ref.key()) {
					p.Rows++
					p.Blank++
				}
				return
			}
			e164, reason := norm.Normalize(value)
			if reason != "" {
				if sh.takes(ref.key()) {
					p.Rows++
					p.Rejects = append(p.Rejects, Reject{File: in.Name, Row: row, Value: cut(value), Reason: reason, Detail: norm.detail(value, reason)})
				}
				return
			}
			orig, dup := first[e164]
			if !dup {
				first[e164] = ref
			}
			if !sh.takes(e164) {
				return
			}
			p.Rows++
			if dup {
				p.Rejects = append(p.Rejects, Reject{File: in.Name, Row: row, Value: cut(value), Reason: ReasonDuplicate, DuplicateOf: orig})
				return
			}
			p.Numbers = append(p.Numbers, e164)
			p.Origin = append(p.Origin, ref)
		})
		if err != nil {
			return nil, err
		}
		p.Inputs = append(p.Inputs, src)
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

func (r RowRef) key() string { return r.File + "\x00" + strconv.Itoa(r.Row) }

// cut keeps a rejected value short enough for a rejects file, its control
// characters escaped.
func cut(v string) string {
	v = escapeValue(strings.TrimSpace(v))
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

// pseudonymizer is the plan's, nil when numbers stay in clear.
func (p *Plan) pseudonymizer() *privacy.Pseudonymizer { return p.Options.Privacy.Pseudonymizer }

// cacheKeys are the keys the plan's numbers have in a cache: the cache
// holds what the outputs hold, so with a Pseudonymizer their pseudonyms.
func (p *Plan) cacheKeys(numbers []string) []string {
	ps := p.pseudonymizer()
	if ps == nil {
		return numbers
	}
	keys := make([]string, len(numbers))
	for i, n := range numbers {
		keys[i] = ps.Number(n)
	}
	return keys
}
