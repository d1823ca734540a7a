package arrowconv

import (
	"bytes"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/wadeep/wadeep/internal/phone"
)

// profileBuilder appends result rows to the columns of one batch.
// Not safe for concurrent use.
type profileBuilder struct {
	schema *arrow.Schema
	rb     *array.RecordBuilder

	number, country, avatar, taskID *array.StringBuilder
	status, category, gender, hair  *array.BinaryDictionaryBuilder
	whatsapp                        *array.BooleanBuilder
	ageMin, ageMax                  *array.Int16Builder
	checkedAt                       *array.TimestampBuilder
	extra                           []*array.StringBuilder

	// keep, if set, decides whether a row with this number is appended;
	// appendRow returns a nil number for a row it leaves out.
	keep func(number []byte) bool

	task      string
	checked   arrow.Timestamp
	hasTask   bool
	countries *phone.CountryOf

	rows  int // rows in the current batch
	bytes int // approximate bytes of cell text in the current batch

	numBuf    []byte // the current row's number
	lastRows  int    // rows of the last batch, reserved for the next
	lastBytes [2]int // number and avatar bytes of the last batch
}

// Status values as bytes, so appending them does not allocate.
var (
	statusChecked = []byte(StatusChecked)
	statusFailed  = []byte(StatusFailed)
)

func newProfileBuilder(mem memory.Allocator, extras []string, task string, checkedAt time.Time) *profileBuilder {
	schema := Schema(extras...)
	rb := array.NewRecordBuilder(mem, schema)
	b := &profileBuilder{
		schema:    schema,
		rb:        rb,
		number:    rb.Field(idxNumber).(*array.StringBuilder),
		country:   rb.Field(idxCountry).(*array.StringBuilder),
		status:    rb.Field(idxStatus).(*array.BinaryDictionaryBuilder),
		whatsapp:  rb.Field(idxWhatsApp).(*array.BooleanBuilder),
		avatar:    rb.Field(idxAvatar).(*array.StringBuilder),
		category:  rb.Field(idxCategory).(*array.BinaryDictionaryBuilder),
		gender:    rb.Field(idxGender).(*array.BinaryDictionaryBuilder),
		ageMin:    rb.Field(idxAgeMin).(*array.Int16Builder),
		ageMax:    rb.Field(idxAgeMax).(*array.Int16Builder),
		hair:      rb.Field(idxHairColor).(*array.BinaryDictionaryBuilder),
		taskID:    rb.Field(idxTaskID).(*array.StringBuilder),
		checkedAt: rb.Field(idxCheckedAt).(*array.TimestampBuilder),
		task:      task,
		hasTask:   task != "",
		countries: phone.NewCountryOf(),
	}
	if !checkedAt.IsZero() {
		b.checked = arrow.Timestamp(checkedAt.UTC().UnixMilli())
	}
	for i := range extras {
		b.extra = append(b.extra, rb.Field(numFixed+i).(*array.StringBuilder))
	}
	return b
}

func (b *profileBuilder) release() { b.rb.Release() }

// cellError is a value error in one cell, positioned by the reader.
type cellError struct {
	col int
	err error
}

// appendRow appends one result row. cells holds the raw text of each sheet
// column (nil or empty for an empty cell), valid only during the call. It
// returns the row's number, valid until the next call. On error nothing is
// appended.
func (b *profileBuilder) appendRow(h *headerMap, cells [][]byte) ([]byte, *cellError) {
	var (
		number           []byte
		numberSet        bool
		wa, waOK         bool
		lo, hi           int16
		hasLo, hasHi     bool
		avatar, category []byte
		gender, hair     []byte
	)
	for i, raw := range cells {
		src := h.sourceAt(i)
		if src == srcIgnore || src == srcDropped || src == srcExtra {
			continue
		}
		v := bytes.TrimSpace(raw)
		var err error
		switch src {
		case srcNumber:
			b.numBuf, err = appendNumber(b.numBuf, v)
			number, numberSet = b.numBuf, err == nil
		case srcWhatsApp:
			wa, waOK, err = parseWhatsApp(v)
		case srcAge:
			lo, hi, hasLo, hasHi, err = parseAge(v)
		case srcAvatar:
			avatar = v
		case srcCategory:
			category = v
		case srcGender:
			gender = v
		case srcHairColor:
			hair = v
		}
		if err != nil {
			return nil, &cellError{col: i, err: err}
		}
	}
	if !numberSet {
		col := 0
		for i, s := range h.cols {
			if s == srcNumber {
				col = i
			}
		}
		return nil, &cellError{col: col, err: errBadNumber}
	}
	if b.keep != nil && !b.keep(number) {
		return nil, nil
	}

	b.reserve()
	b.number.BinaryBuilder.Append(number)
	b.appendCountry(number)
	if waOK {
		_ = b.status.Append(statusChecked)
		b.whatsapp.Append(wa)
	} else {
		_ = b.status.Append(statusFailed)
		b.whatsapp.AppendNull()
	}
	appendText(b.avatar, avatar)
	appendDict(b.category, category)
	appendDict(b.gender, gender)
	if hasLo {
		b.ageMin.Append(lo)
	} else {
		b.ageMin.AppendNull()
	}
	if hasHi {
		b.ageMax.Append(hi)
	} else {
		b.ageMax.AppendNull()
	}
	appendDict(b.hair, hair)
	b.appendProvenance()
	n := len(number) + len(avatar) + len(category) + len(gender) + len(hair)
	for i, raw := range cells {
		if h.sourceAt(i) == srcExtra {
			v := bytes.TrimSpace(raw)
			appendText(b.extra[h.extra[i]], v)
			n += len(v)
		}
	}
	for i := len(cells); i < len(h.cols); i++ {
		if h.cols[i] == srcExtra {
			b.extra[h.extra[i]].AppendNull()
		}
	}
	b.rows++
	// Every pass-through column costs an offset and a validity bit per row,
	// text or not: wide headers make smaller batches.
	b.bytes += n + 5*len(b.extra)
	return number, nil
}

// appendFailed appends a row for a number the upstream returned no result
// for: it could not process it.
func (b *profileBuilder) appendFailed(number string) {
	b.reserve()
	b.number.Append(number)
	b.appendCountry([]byte(number))
	_ = b.status.Append(statusFailed)
	b.whatsapp.AppendNull()
	b.avatar.AppendNull()
	b.category.AppendNull()
	b.gender.AppendNull()
	b.ageMin.AppendNull()
	b.ageMax.AppendNull()
	b.hair.AppendNull()
	b.appendProvenance()
	for _, e := range b.extra {
		e.AppendNull()
	}
	b.rows++
	b.bytes += len(number)
}

func (b *profileBuilder) appendCountry(number []byte) {
	if c := b.countries.Lookup(number); c != "" {
		b.country.Append(c)
	} else {
		b.country.AppendNull()
	}
}

func (b *profileBuilder) appendProvenance() {
	if b.hasTask {
		b.taskID.Append(b.task)
	} else {
		b.taskID.AppendNull()
	}
	if b.checked != 0 {
		b.checkedAt.Append(b.checked)
	} else {
		b.checkedAt.AppendNull()
	}
}

// reserve sizes a new batch's builders like the last batch, before its
// first row, rather than let them grow by copying.
func (b *profileBuilder) reserve() {
	if b.rows > 0 || b.lastRows == 0 {
		return
	}
	b.rb.Reserve(b.lastRows)
	b.number.ReserveData(b.lastBytes[0])
	b.avatar.ReserveData(b.lastBytes[1])
}

// newBatch hands out the rows appended so far as one record batch; the caller
// owns it.
func (b *profileBuilder) newBatch() arrow.RecordBatch {
	b.lastRows = b.rows
	b.lastBytes = [2]int{b.number.DataLen(), b.avatar.DataLen()}
	b.rows, b.bytes = 0, 0
	rec := b.rb.NewRecordBatch()
	// Dictionary builders keep every value ever seen unless told: each batch
	// would carry the dictionaries of all before it, growing with the file.
	for _, d := range []*array.BinaryDictionaryBuilder{b.status, b.category, b.gender, b.hair} {
		d.ResetFull()
	}
	return rec
}

func appendText(sb *array.StringBuilder, v []byte) {
	if len(v) == 0 {
		sb.AppendNull()
		return
	}
	sb.BinaryBuilder.Append(v)
}

func appendDict(db *array.BinaryDictionaryBuilder, v []byte) {
	if isNullValue(v) {
		db.AppendNull()
		return
	}
	// Append copies v into the dictionary memo only when the value is new.
	_ = db.Append(v)
}
