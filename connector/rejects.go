package connector

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/wadeep/wadeep/privacy"
)

// RejectSchema is the schema of the rejects table: the input file and
// 1-based row, the value as read (cut to MaxValueLen+1 runes, control
// characters escaped), the reason as a short code (see the Reason
// constants) and in words (Reject.Explain).
func RejectSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "file", Type: arrow.BinaryTypes.String},
		{Name: "row", Type: arrow.PrimitiveTypes.Int64},
		{Name: "value", Type: arrow.BinaryTypes.String},
		{Name: "reason", Type: arrow.BinaryTypes.String},
		{Name: "detail", Type: arrow.BinaryTypes.String},
	}, nil)
}

// rejectBatchRows bounds the rows of one rejects batch.
const rejectBatchRows = 64 << 10

// RejectRecords returns the plan's rejects as Arrow batches of RejectSchema,
// in input order. mem nil means memory.DefaultAllocator. The caller
// releases the reader; it is not safe for concurrent use.
//
// With the plan's Pseudonymizer (PlanOptions.Privacy), value is what
// Pseudonymizer.Value makes of it (a duplicate's number becomes the
// pseudonym its profile has, any other value holding a digit its HMAC) and
// the numbers a detail quotes become pseudonyms.
func (p *Plan) RejectRecords(mem memory.Allocator) array.RecordReader {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	r := &rejectReader{rejects: p.Rejects, b: array.NewRecordBuilder(mem, RejectSchema()), refs: 1, ps: p.pseudonymizer()}
	if r.ps != nil {
		// The plan's region was valid when it was made.
		r.norm, _ = NewNormalizer(p.Options.Region)
	}
	return r
}

type rejectReader struct {
	rejects []Reject
	b       *array.RecordBuilder
	cur     arrow.RecordBatch
	refs    int
	ps      *privacy.Pseudonymizer
	norm    *Normalizer // for a duplicate's number, with ps
}

var _ array.RecordReader = (*rejectReader)(nil)

func (r *rejectReader) Schema() *arrow.Schema { return r.b.Schema() }

func (r *rejectReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if len(r.rejects) == 0 || r.refs <= 0 {
		return false
	}
	n := min(len(r.rejects), rejectBatchRows)
	file := r.b.Field(0).(*array.StringBuilder)
	row := r.b.Field(1).(*array.Int64Builder)
	value := r.b.Field(2).(*array.StringBuilder)
	reason := r.b.Field(3).(*array.StringBuilder)
	detail := r.b.Field(4).(*array.StringBuilder)
	for _, rj := range r.rejects[:n] {
		file.Append(rj.File)
		row.Append(int64(rj.Row))
		v, d := rj.Value, rj.Explain()
		if r.ps != nil {
			var e164 string
			if rj.Reason == ReasonDuplicate && r.norm != nil {
				e164, _ = r.norm.Normalize(rj.Value)
			}
			v, d = r.ps.Value(v, e164), r.ps.Text(d)
		}
		value.Append(v)
		reason.Append(string(rj.Reason))
		detail.Append(d)
	}
	r.rejects = r.rejects[n:]
	r.cur = r.b.NewRecordBatch()
	return true
}

func (r *rejectReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch, for the RecordReader interface.
//
// Deprecated: use RecordBatch.
func (r *rejectReader) Record() arrow.RecordBatch { return r.cur }

func (r *rejectReader) Err() error { return nil }

func (r *rejectReader) Retain() { r.refs++ }

func (r *rejectReader) Release() {
	if r.refs--; r.refs == 0 {
		if r.cur != nil {
			r.cur.Release()
			r.cur = nil
		}
		r.b.Release()
	}
}
