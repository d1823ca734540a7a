package privacy

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ColNumber is the key column: it can be pseudonymised, never dropped.
const ColNumber = "number"

// MetaPseudonym is the field metadata key set on a pseudonymised number
// column, with MetaPseudonymValue, so that catalogs and readers can tell
// a pseudonym from a number.
const (
	MetaPseudonym      = "wadeep.pseudonym"
	MetaPseudonymValue = "hmac-sha256"
)

// Policy is what a job's outputs keep of the profiles. The zero Policy
// keeps everything, numbers in clear.
type Policy struct {
	// Pseudonymizer, if set, replaces every number by its pseudonym.
	Pseudonymizer *Pseudonymizer
	// Drop names profile columns to leave out of every output.
	Drop []string
}

// IsZero reports whether p keeps everything.
func (p Policy) IsZero() bool { return p.Pseudonymizer == nil && len(p.Drop) == 0 }

// Schema is schema with p applied: the Drop columns left out and, with a
// Pseudonymizer, the number column marked as a pseudonym. A Drop name that
// schema lacks, or the number column, is an error that lists what can be
// dropped.
func (p Policy) Schema(schema *arrow.Schema) (*arrow.Schema, error) {
	if p.IsZero() {
		return schema, nil
	}
	drop := map[string]bool{}
	for _, name := range p.Drop {
		switch {
		case name == ColNumber:
			return nil, fmt.Errorf("privacy: column %q is the key and cannot be dropped; to hide the numbers, pseudonymise them (--pseudonymize KEYFILE)", name)
		case !schema.HasField(name):
			return nil, fmt.Errorf("privacy: cannot drop %q: no such column; the columns are %s", name, strings.Join(droppable(schema), ", "))
		}
		drop[name] = true
	}
	fields := make([]arrow.Field, 0, schema.NumFields())
	for _, f := range schema.Fields() {
		if drop[f.Name] {
			continue
		}
		if f.Name == ColNumber && p.Pseudonymizer != nil {
			f.Metadata = withMeta(f.Metadata, MetaPseudonym, MetaPseudonymValue)
		}
		fields = append(fields, f)
	}
	meta := schema.Metadata()
	return arrow.NewSchema(fields, &meta), nil
}

func droppable(schema *arrow.Schema) []string {
	var names []string
	for _, f := range schema.Fields() {
		if f.Name != ColNumber {
			names = append(names, f.Name)
		}
	}
	return names
}

func withMeta(m arrow.Metadata, key, value string) arrow.Metadata {
	keys, values := slices.Clone(m.Keys()), slices.Clone(m.Values())
	if i := m.FindKey(key); i >= 0 {
		values[i] = value
	} else {
		keys, values = append(keys, key), append(values, value)
	}
	return arrow.NewMetadata(keys, values)
}

// Apply returns rec as schema (a Schema of p) has it: the dropped columns
// left out and, with a Pseudonymizer, each column named in pseudonymise
// replaced by its values' pseudonyms (nulls stay null; a value that is a
// pseudonym already, 64 lower-case hex digits, stays too, so applying a
// policy twice changes nothing). A column of
// schema that rec lacks is an error. The caller releases the result.
func (p Policy) Apply(mem memory.Allocator, rec arrow.RecordBatch, schema *arrow.Schema, pseudonymise ...string) (arrow.RecordBatch, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	cols := make([]arrow.Array, 0, schema.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, f := range schema.Fields() {
		idx := rec.Schema().FieldIndices(f.Name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("privacy: the batch has no column %q", f.Name)
		}
		c := rec.Column(idx[0])
		if p.Pseudonymizer != nil && slices.Contains(pseudonymise, f.Name) {
			pc, err := p.pseudonymiseColumn(mem, c, f.Name)
			if err != nil {
				return nil, err
			}
			cols = append(cols, pc)
			continue
		}
		c.Retain()
		cols = append(cols, c)
	}
	return array.NewRecordBatch(schema, cols, rec.NumRows()), nil
}

func (p Policy) pseudonymiseColumn(mem memory.Allocator, c arrow.Array, name string) (arrow.Array, error) {
	s, ok := c.(*array.String)
	if !ok {
		return nil, fmt.Errorf("privacy: column %q is %s, want utf8 to pseudonymise it", name, c.DataType())
	}
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Reserve(s.Len())
	b.ReserveData(s.Len() * 2 * 32)
	for i := 0; i < s.Len(); i++ {
		if s.IsNull(i) {
			b.AppendNull()
			continue
		}
		if v := s.Value(i); IsPseudonym(v) {
			b.Append(v)
		} else {
			b.Append(p.Pseudonymizer.Number(v))
		}
	}
	return b.NewArray(), nil
}

// IsPseudonym reports whether s has a pseudonym's form: 64 lower-case hex
// digits (an E.164 number starts with +).
func IsPseudonym(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
