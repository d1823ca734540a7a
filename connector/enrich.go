package connector

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/privacy"
)

// The enriched view is one row per input row, in input order: the input's
// own columns, then these two, the profile columns, and ColRejectReason.
const (
	ColInputFile    = "input_file"    // utf8: the input's name as given
	ColInputRow     = "input_row"     // int64: the row's 1-based number, as in rejects
	ColRejectReason = "reject_reason" // utf8: why the row has no profile; null when its number was checked
)

// ReasonBlank is the reject_reason of a blank input row.
const ReasonBlank = "blank"

// EnrichBatchRows is the most rows in one batch of the enriched view.
const EnrichBatchRows = 64 << 10

// ProfileIndex holds a job's profile rows by number, for Enrich: one row per
// distinct number, which is the job's output, not its input. It copies what
// it is given into its own allocator's memory. Not safe for concurrent use;
// the caller must Release it.
type ProfileIndex struct {
	schema  *arrow.Schema
	mem     memory.Allocator
	number  int                 // index of the number column
	batches []arrow.RecordBatch // copies of the added batches, conformed to schema
	// Numbers are keyed by their E.164 digits (no map of strings for the
	// millions of keys a large job has); anything else by its text.
	byDigits map[uint64]uint64 // digits → batch<<32 | row
	byText   map[string]uint64
}

// NewProfileIndex returns an empty index of profile rows of schema (the
// profile schema, arrowconv.Schema, with the pass-through columns the job's
// results have). mem nil means memory.DefaultAllocator.
func NewProfileIndex(schema *arrow.Schema, mem memory.Allocator) (*ProfileIndex, error) {
	if schema == nil {
		return nil, errors.New("connector: profile index: nil schema")
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	idx := schema.FieldIndices(arrowconv.ColNumber)
	if len(idx) != 1 || schema.Field(idx[0]).Type.ID() != arrow.STRING {
		return nil, fmt.Errorf("connector: profile index: the schema needs one utf8 column %q", arrowconv.ColNumber)
	}
	for _, f := range schema.Fields() {
		if !keepable(f.Type) {
			return nil, fmt.Errorf("connector: profile index: column %q has type %s, which the index does not hold", f.Name, f.Type)
		}
	}
	return &ProfileIndex{schema: schema, mem: mem, number: idx[0], byDigits: map[uint64]uint64{}, byText: map[string]uint64{}}, nil
}

// Schema is the schema of the index's profile rows.
func (x *ProfileIndex) Schema() *arrow.Schema { return x.schema }

// Len is the number of distinct numbers held.
func (x *ProfileIndex) Len() int { return len(x.byDigits) + len(x.byText) }

// Add copies the rows of rec, a batch of profile rows, into the index. rec's
// columns are matched to the index's schema by name (arrowconv.Conform): one
// rec lacks is null, one the schema lacks is left out. Of rows with the same
// number, the first added is kept. rec is not retained.
func (x *ProfileIndex) Add(rec arrow.RecordBatch) error {
	conf, _, err := arrowconv.Conform(x.mem, rec, x.schema)
	if err != nil {
		return fmt.Errorf("connector: profile index: %w", err)
	}
	defer conf.Release()
	if len(x.batches) >= 1<<31 {
		return errors.New("connector: profile index: too many batches")
	}
	nums, ok := conf.Column(x.number).(*array.String)
	if !ok {
		return fmt.Errorf("connector: profile index: column %q is not utf8", arrowconv.ColNumber)
	}
	b := array.NewRecordBuilder(x.mem, x.schema)
	defer b.Release()
	kept, batch := 0, uint64(len(x.batches))
	for i := 0; i < int(conf.NumRows()); i++ {
		if nums.IsNull(i) {
			return fmt.Errorf("connector: profile index: row %d has no number", i+1)
		}
		n := nums.Value(i)
		if _, dup := x.lookup(n); dup {
			continue
		}
		for c := range conf.NumCols() {
			if err := appendValue(b.Field(int(c)), conf.Column(int(c)), i, false); err != nil {
				return fmt.Errorf("connector: profile index: %w", err)
			}
		}
		ref := batch<<32 | uint64(kept)
		if k, ok := digitsKey(n); ok {
			x.byDigits[k] = ref
		} else {
			x.byText[n] = ref
		}
		kept++
	}
	if kept > 0 {
		x.batches = append(x.batches, b.NewRecordBatch())
	}
	return nil
}

// lookup finds number's profile row: batch<<32 | row.
func (x *ProfileIndex) lookup(number string) (uint64, bool) {
	if k, ok := digitsKey(number); ok {
		ref, found := x.byDigits[k]
		return ref, found
	}
	ref, found := x.byText[number]
	return ref, found
}

// Release frees the index's rows.
func (x *ProfileIndex) Release() {
	for _, b := range x.batches {
		b.Release()
	}
	x.batches = nil
	clear(x.byDigits)
	clear(x.byText)
}

// digitsKey is an E.164 number ("+" and up to 15 digits, the first not 0)
// as an integer; distinct numbers have distinct keys.
func digitsKey(s string) (uint64, bool) {
	if len(s) < 2 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return 0, false
	}
	var k uint64
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		k = k*10 + uint64(c-'0')
	}
	return k, true
}

// layout is the shape of an enriched view: its schema and where each
// input's columns go.
type layout struct {
	schema *arrow.Schema
	// cols[j][k] is the output column of input j's field k, -1 when it is
	// left out; text[j][k] says it is written as its text (the output
	// column is utf8 and the input's is not).
	cols [][]int
	text [][]bool
	// absent[j] are the own columns input j lacks: null in its rows.
	absent [][]int
	// ps, from the plan, pseudonymises each input's number column (of
	// Source.Column): its output column is utf8.
	ps     *privacy.Pseudonymizer
	file   int // ColInputFile; ColInputRow follows, then the profile columns
	prof   int
	reason int
}

// EnrichedSchema is the schema of the enriched view of plan's inputs with
// profile rows of schema profile (the ProfileIndex's): the inputs' own
// columns, then input_file (utf8), input_row (int64), the profile columns
// (all nullable) and reject_reason (utf8). It reads nothing: the plan
// recorded the inputs' columns.
//
// The own columns are the union of the inputs' columns by name, in
// first-seen order; an input lacking one has nulls there. Their types:
//   - txt, csv and xlsx columns are utf8: the text as the file holds it
//     (xlsx cells as the sheet stores them, numbers in their stored
//     decimal form), an empty cell is null, and cells beyond the
//     header's columns are left out;
//   - arrow and parquet columns keep their type when every sink writes it
//     (utf8, dictionary<int, utf8>, bool, integers, floats, timestamps);
//     any other type becomes utf8 holding Arrow's text form of the value;
//   - a name whose type differs between inputs becomes utf8 the same way.
//
// An own column whose name is one of the added or profile columns' is
// renamed with the prefix input_ (again, while it still collides). A column
// the project never carries (skin_color, under any spelling) is left out.
func EnrichedSchema(plan *Plan, profile *arrow.Schema) (*arrow.Schema, error) {
	lay, err := newLayout(plan, profile)
	if err != nil {
		return nil, err
	}
	return lay.schema, nil
}

func newLayout(plan *Plan, profile *arrow.Schema) (*layout, error) {
	if plan == nil || profile == nil {
		return nil, errors.New("connector: enriched schema: needs a plan and a profile schema")
	}
	if plan.Rows > 0 && len(plan.Inputs) == 0 {
		return nil, errors.New("connector: enriched schema: the plan does not say how its inputs were read (made by NewPlan?)")
	}
	// The union of the inputs' columns, by name in first-seen order.
	type own struct {
		name string
		typ  arrow.DataType
		meta arrow.Metadata
	}
	var union []own
	pos := map[string]int{}
	lay := &layout{cols: make([][]int, len(plan.Inputs)), text: make([][]bool, len(plan.Inputs)), absent: make([][]int, len(plan.Inputs)), ps: plan.pseudonymizer()}
	for j, src := range plan.Inputs {
		lay.cols[j] = make([]int, len(src.Fields))
		for k, f := range src.Fields {
			if arrowconv.NeverCarried(f.Name) {
				lay.cols[j][k] = -1
				continue
			}
			typ, meta := f.Type, f.Metadata
			if !keepable(typ) {
				typ = arrow.BinaryTypes.String
			}
			if lay.ps != nil && k == src.Column {
				typ, meta = arrow.BinaryTypes.String, arrow.NewMetadata([]string{privacy.MetaPseudonym}, []string{privacy.MetaPseudonymValue})
			}
			o, seen := pos[f.Name]
			if !seen {
				o = len(union)
				pos[f.Name] = o
				union = append(union, own{name: f.Name, typ: typ, meta: meta})
			} else if !arrow.TypeEqual(union[o].typ, typ) {
				union[o].typ, union[o].meta = arrow.BinaryTypes.String, arrow.Metadata{}
			}
			lay.cols[j][k] = o
		}
	}
	// Names the view adds: an own column taking one is prefixed.
	taken := map[string]bool{ColInputFile: true, ColInputRow: true, ColRejectReason: true}
	for _, f := range profile.Fields() {
		taken[f.Name] = true
	}
	for _, u := range union {
		taken[u.name] = true
	}
	reserved := func(n string) bool {
		switch n {
		case ColInputFile, ColInputRow, ColRejectReason:
			return true
		}
		return profile.HasField(n)
	}
	fields := make([]arrow.Field, 0, len(union)+3+profile.NumFields())
	for _, u := range union {
		name := u.name
		if reserved(name) {
			name = "input_" + name
			for taken[name] {
				name = "input_" + name
			}
			taken[name] = true
		}
		fields = append(fields, arrow.Field{Name: name, Type: u.typ, Nullable: true, Metadata: u.meta})
	}
	for j, src := range plan.Inputs {
		lay.text[j] = make([]bool, len(src.Fields))
		has := make([]bool, len(union))
		for k, o := range lay.cols[j] {
			if o < 0 {
				continue
			}
			has[o] = true
			lay.text[j][k] = !arrow.TypeEqual(src.Fields[k].Type, fields[o].Type)
		}
		for o, h := range has {
			if !h {
				lay.absent[j] = append(lay.absent[j], o)
			}
		}
	}
	lay.file = len(fields)
	fields = append(fields,
		arrow.Field{Name: ColInputFile, Type: arrow.BinaryTypes.String},
		arrow.Field{Name: ColInputRow, Type: arrow.PrimitiveTypes.Int64})
	lay.prof = len(fields)
	for _, f := range profile.Fields() {
		if !keepable(f.Type) {
			return nil, fmt.Errorf("connector: enriched schema: profile column %q has type %s", f.Name, f.Type)
		}
		f.Nullable = true
		fields = append(fields, f)
	}
	lay.reason = len(fields)
	fields = append(fields, arrow.Field{Name: ColRejectReason, Type: arrow.BinaryTypes.String, Nullable: true})
	lay.schema = arrow.NewSchema(fields, nil)
	return lay, nil
}

// keepable reports whether a column of type t keeps its type in the view:
// the types every sink writes.
func keepable(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.BOOL,
		arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT32, arrow.FLOAT64, arrow.TIMESTAMP:
		return true
	case arrow.DICTIONARY:
		d := t.(*arrow.DictionaryType)
		return d.ValueType.ID() == arrow.STRING && arrow.IsInteger(d.IndexType.ID())
	}
	return false
}

// Enrich writes the enriched view of a finished job to out: one row per
// input row the plan took (a --shard plan takes its shard's), in input
// order, with the schema EnrichedSchema(plan, idx.Schema()) gives, in batches
// of at most EnrichBatchRows rows. out's batch is valid during the call.
//
// inputs are the plan's inputs opened again, in the same order (a stream
// such as stdin cannot serve: it is read twice). They are read with the
// column planning picked and normalised as planning did; an input whose
// columns, rows or values differ from what planning read fails with
// ErrInputChanged. A row with a number has that number's profile from idx
// (duplicates too: their reject_reason is null); a rejected row has null
// profile columns and the reject's Explain text; a blank row, "blank". A
// checked number idx lacks is an error.
//
// Memory: idx (one row per distinct number) and one batch being built; the
// inputs are streamed.
func Enrich(ctx context.Context, plan *Plan, inputs []Input, idx *ProfileIndex, out func(arrow.RecordBatch) error) error {
	return enrich(ctx, plan, inputs, idx, out, EnrichBatchRows)
}

func enrich(ctx context.Context, plan *Plan, inputs []Input, idx *ProfileIndex, out func(arrow.RecordBatch) error, batchRows int) error {
	if idx == nil || out == nil {
		return errors.New("connector: enrich: needs a profile index and an out func")
	}
	lay, err := newLayout(plan, idx.schema)
	if err != nil {
		return err
	}
	if len(inputs) != len(plan.Inputs) {
		return fmt.Errorf("connector: enrich: %d inputs given, the plan read %d", len(inputs), len(plan.Inputs))
	}
	norm, err := NewNormalizer(plan.Options.Region)
	if err != nil {
		return err
	}
	w := &enrichWriter{lay: lay, plan: plan, idx: idx, b: array.NewRecordBuilder(idx.mem, lay.schema), max: batchRows, out: out, ctx: ctx}
	defer w.b.Release()
	sh := plan.Options.Shard
	nextReject, nextNumber, blank := 0, 0, 0
	for j, in := range inputs {
		src := &plan.Inputs[j]
		if in.Name != src.Name {
			return fmt.Errorf("connector: enrich: input %d is %s, the plan's is %s", j+1, in.Name, src.Name)
		}
		rows := 0
		err := readRows(ctx, in, src, idx.mem, func(r *fullRow) error {
			rows++
			if rows > src.Rows {
				return fmt.Errorf("connector: %s: more than the %d rows planning read: %w", in.Name, src.Rows, ErrInputChanged)
			}
			ref := RowRef{File: in.Name, Row: r.row}
			changed := func(what string) error {
				return fmt.Errorf("connector: %s row %d: %s: %w", in.Name, r.row, what, ErrInputChanged)
			}
			// The next reject of the plan, if it is this row.
			var rej *Reject
			if nextReject < len(plan.Rejects) {
				if c := &plan.Rejects[nextReject]; c.File == in.Name && c.Row == r.row {
					rej = c
				}
			}
			if r.blank {
				if !sh.takes(ref.key()) {
					return nil
				}
				if rej != nil {
					return changed("blank now, a reject before")
				}
				blank++
				return w.add(j, r, in.Name, "", ReasonBlank)
			}
			e164, why := norm.Normalize(r.value)
			if why != "" {
				if !sh.takes(ref.key()) {
					return nil
				}
				if rej == nil || rej.Reason != why {
					return changed(fmt.Sprintf("rejected as %s now, not before", why))
				}
				nextReject++
				return w.add(j, r, in.Name, "", string(rej.Reason))
			}
			if !sh.takes(e164) {
				return nil
			}
			switch {
			case rej != nil && rej.Reason == ReasonDuplicate:
				nextReject++
			case rej != nil:
				return changed(fmt.Sprintf("%s now, rejected as %s before", e164, rej.Reason))
			case nextNumber >= len(plan.Numbers) || !sameNumber(plan.Numbers[nextNumber], e164):
				return changed(fmt.Sprintf("%s is not the number planning read there", e164))
			default:
				nextNumber++
			}
			return w.add(j, r, in.Name, e164, "")
		})
		if err != nil {
			return err
		}
		if rows != src.Rows {
			return fmt.Errorf("connector: %s: %d rows now, %d when planned: %w", in.Name, rows, src.Rows, ErrInputChanged)
		}
	}
	if nextReject != len(plan.Rejects) || nextNumber != len(plan.Numbers) || blank != plan.Blank {
		return fmt.Errorf("connector: enrich: %d of %d rejects, %d of %d numbers and %d of %d blank rows met again: %w",
			nextReject, len(plan.Rejects), nextNumber, len(plan.Numbers), blank, plan.Blank, ErrInputChanged)
	}
	return w.flush()
}

// enrichWriter builds the enriched view's batches.
type enrichWriter struct {
	ctx  context.Context
	lay  *layout
	plan *Plan
	idx  *ProfileIndex
	b    *array.RecordBuilder
	n    int
	max  int
	out  func(arrow.RecordBatch) error
}

// add appends one row: its own cells, where it came from, the profile of
// number (none when "") and the reason.
func (w *enrichWriter) add(j int, r *fullRow, file, number, reason string) error {
	lay := w.lay
	for k, o := range lay.cols[j] {
		if o < 0 {
			continue
		}
		fb := w.b.Field(o)
		if lay.ps != nil && k == w.plan.Inputs[j].Column {
			// The row's number as the profile's number column has it; a
			// rejected value as the rejects table has it.
			if err := appendText(fb, lay.ps.Value(cut(r.value), number)); err != nil {
				return err
			}
			continue
		}
		if r.cells != nil {
			if err := appendText(fb, r.cells[k]); err != nil {
				return err
			}
			continue
		}
		if err := appendValue(fb, r.rec.Column(k), r.i, lay.text[j][k]); err != nil {
			return fmt.Errorf("connector: %s row %d: %w", file, r.row, err)
		}
	}
	for _, o := range lay.absent[j] {
		w.b.Field(o).AppendNull()
	}
	if err := appendText(w.b.Field(lay.file), file); err != nil {
		return err
	}
	if ib, ok := w.b.Field(lay.file + 1).(*array.Int64Builder); ok {
		ib.Append(int64(r.row))
	}
	if number != "" {
		if lay.ps != nil { // the index holds the job's output: pseudonyms
			number = lay.ps.Number(number)
		}
		ref, ok := w.idx.lookup(number)
		if !ok {
			return fmt.Errorf("connector: %s row %d: no profile for %s in the index (were all the job's batches added?)", file, r.row, number)
		}
		prof, row := w.idx.batches[ref>>32], int(uint32(ref))
		for c := range prof.NumCols() {
			if err := appendValue(w.b.Field(lay.prof+int(c)), prof.Column(int(c)), row, false); err != nil {
				return err
			}
		}
	} else {
		for c := lay.prof; c < lay.reason; c++ {
			w.b.Field(c).AppendNull()
		}
	}
	if err := appendText(w.b.Field(lay.reason), reason); err != nil {
		return err
	}
	w.n++
	if w.n >= w.max {
		return w.flush()
	}
	return nil
}

func (w *enrichWriter) flush() error {
	if w.n == 0 {
		return nil
	}
	if err := w.ctx.Err(); err != nil {
		return err
	}
	rec := w.b.NewRecordBatch()
	defer rec.Release()
	w.n = 0
	return w.out(rec)
}

// appendText appends s to a utf8 builder; "" is null.
func appendText(b array.Builder, s string) error {
	sb, ok := b.(*array.StringBuilder)
	if !ok {
		return fmt.Errorf("connector: a text cell for a %s column", b.Type())
	}
	if s == "" {
		sb.AppendNull()
	} else {
		sb.Append(s)
	}
	return nil
}

// appendValue appends a's value at i to b, a builder of a's type; with
// text, b is utf8 and gets the value's text form.
func appendValue(b array.Builder, a arrow.Array, i int, text bool) error {
	if a.IsNull(i) {
		b.AppendNull()
		return nil
	}
	if text {
		return put(b, a.ValueStr(i))
	}
	switch a := a.(type) {
	case *array.String:
		return put(b, a.Value(i))
	case *array.LargeString:
		return put(b, a.Value(i))
	case *array.StringView:
		return put(b, a.Value(i))
	case *array.Boolean:
		return put(b, a.Value(i))
	case *array.Int8:
		return put(b, a.Value(i))
	case *array.Int16:
		return put(b, a.Value(i))
	case *array.Int32:
		return put(b, a.Value(i))
	case *array.Int64:
		return put(b, a.Value(i))
	case *array.Uint8:
		return put(b, a.Value(i))
	case *array.Uint16:
		return put(b, a.Value(i))
	case *array.Uint32:
		return put(b, a.Value(i))
	case *array.Uint64:
		return put(b, a.Value(i))
	case *array.Float32:
		return put(b, a.Value(i))
	case *array.Float64:
		return put(b, a.Value(i))
	case *array.Timestamp:
		return put(b, a.Value(i))
	case *array.Dictionary:
		db, ok := b.(*array.BinaryDictionaryBuilder)
		dict, ok2 := a.Dictionary().(*array.String)
		if !ok || !ok2 {
			break
		}
		return db.AppendString(dict.Value(a.GetValueIndex(i)))
	}
	return fmt.Errorf("connector: cannot copy a %s value into a %s column", a.DataType(), b.Type())
}

// put appends v to b if b takes values of v's type.
func put[T any](b array.Builder, v T) error {
	pb, ok := b.(interface{ Append(T) })
	if !ok {
		return fmt.Errorf("connector: cannot append a %T to a %s column", v, b.Type())
	}
	pb.Append(v)
	return nil
}

func sameNumber(n Number, e164 string) bool {
	m, ok := ParseNumber(e164)
	return ok && m == n
}
