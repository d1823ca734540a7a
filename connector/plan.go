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
	Numbers Numbers // distinct numbers, in input order
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
	Cached Numbers

	// origin[i] is the row Numbers[i] was first seen in (packOrigin), and
	// names the inputs' names it refers to.
	origin []uint64
	names  []string
}

// Origin is the row Numbers[i] was first seen in.
func (p *Plan) Origin(i int) RowRef {
	o := p.origin[i]
	return RowRef{File: p.names[o>>originRowBits], Row: int(o & (1<<originRowBits - 1))}
}

// originRowBits of a packed origin hold the row, the rest the input's index.
const originRowBits = 40

func packOrigin(input, row int) uint64 { return uint64(input)<<originRowBits | uint64(row) }

// Chunk is one upload file's worth of numbers.
type Chunk struct {
	Index   int     // 0-based position in the plan
	Numbers Numbers // a window of Plan.Numbers (of those not Cached, after UseCache)
	First   int     // index in Plan.Numbers of Numbers[0]
	Hash    string  // sha256 of the upload file's bytes, hex
}

// Body is the upload file: one number per line.
func (c Chunk) Body() []byte {
	b := make([]byte, 0, 14*len(c.Numbers))
	for _, n := range c.Numbers {
		b = append(n.append(b), '\n')
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

// takesNumber is takes of the number's E.164 text, without making it.
func (sh Shard) takesNumber(n Number) bool {
	if sh.N <= 1 {
		return true
	}
	var buf [16]byte
	// FNV-1a, 64 bits, as hash/fnv computes it.
	h := uint64(14695981039346656037)
	for _, c := range n.append(buf[:0]) {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return int(h%uint64(sh.N)) == sh.K-1
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
	if _, err := NewNormalizer(opts.Region); err != nil {
		return nil, err
	}
	p := &Plan{Options: PlanOptions{Region: strings.ToUpper(opts.Region), ChunkSize: size, Shard: opts.Shard, Privacy: opts.Privacy}}
	for _, in := range inputs {
		p.names = append(p.names, in.Name)
	}
	pl, err := newPlanner(p, p.names, planWorkers())
	if err != nil {
		return nil, err
	}
	for i, in := range inputs {
		src := Source{Name: in.Name}
		add := pl.add(i)
		err := readValues(in, &src, func(row int, value string, blank bool) {
			src.Rows++
			add(row, value, blank)
		})
		pl.send() // a batch holds rows of one input
		if err != nil {
			pl.finish()
			return nil, err
		}
		p.Inputs = append(p.Inputs, src)
	}
	pl.finish()
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
func (p *Plan) cacheKeys(numbers Numbers) []string {
	keys := numbers.Strings()
	if ps := p.pseudonymizer(); ps != nil {
		for i, n := range keys {
			keys[i] = ps.Number(n)
		}
	}
	return keys
}
