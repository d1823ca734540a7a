package sink_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// profile is one row of the test table, shaped like the profile schema
// (DESIGN §3) plus one pass-through column. Pointers are nullable cells.
type profile struct {
	number    string
	country   *string
	status    string
	whatsapp  *bool
	avatar    *string
	category  *string
	gender    *string
	ageMin    *int16
	ageMax    *int16
	hairColor *string
	taskID    *string
	checkedAt *time.Time
	note      *string
}

func ptr[T any](v T) *T { return &v }

var schemaMeta = arrow.NewMetadata([]string{"origin"}, []string{"test"})

var inferred = arrow.NewMetadata([]string{"wadeep.personal_data"}, []string{"inferred_from_picture"})

// The dictionary columns use different index types on purpose: the sinks
// must handle any integer index.
func profileSchema() *arrow.Schema {
	dict := func(idx arrow.DataType) arrow.DataType {
		return &arrow.DictionaryType{IndexType: idx, ValueType: arrow.BinaryTypes.String}
	}
	return arrow.NewSchema([]arrow.Field{
		{Name: "number", Type: arrow.BinaryTypes.String},
		{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "status", Type: dict(arrow.PrimitiveTypes.Int8)},
		{Name: "whatsapp", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "avatar", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "category", Type: dict(arrow.PrimitiveTypes.Int32), Nullable: true},
		{Name: "gender", Type: dict(arrow.PrimitiveTypes.Int16), Nullable: true, Metadata: inferred},
		{Name: "age_min", Type: arrow.PrimitiveTypes.Int16, Nullable: true, Metadata: inferred},
		{Name: "age_max", Type: arrow.PrimitiveTypes.Int16, Nullable: true, Metadata: inferred},
		{Name: "hair_color", Type: dict(arrow.PrimitiveTypes.Int32), Nullable: true, Metadata: inferred},
		{Name: "task_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "checked_at", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
	}, &schemaMeta)
}

var (
	ts1 = time.Date(2024, 10, 19, 18, 53, 43, 141e6, time.UTC)
	ts2 = time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC)
)

// Two batches. The second batch's dictionaries list values in a different
// order and add new ones, as batches built independently do.
var batches = [][]profile{
	{
		{number: "+14155550100", country: ptr("US"), status: "checked", whatsapp: ptr(true),
			avatar: ptr("https://example.com/a.jpg?x=1,2"), category: ptr("person"), gender: ptr("female"),
			ageMin: ptr[int16](25), ageMax: ptr[int16](30), hairColor: ptr("brown"), taskID: ptr("t-1"),
			checkedAt: &ts1, note: ptr(`she said "hi", then left`)},
		{number: "+447700900123", country: ptr("GB"), status: "checked", whatsapp: ptr(false),
			taskID: ptr("t-1"), checkedAt: &ts1, note: ptr("line one\nline two\r\nline three")},
		{number: "+819012345678", country: ptr("JP"), status: "failed",
			note: ptr("東京 Zoë 🎉 \t tab")},
		{number: "+4915112345678", country: nil, status: "checked", whatsapp: ptr(true),
			avatar: ptr(""), category: ptr("cartoon"), gender: nil, ageMin: ptr[int16](-1), ageMax: ptr[int16](32767),
			hairColor: nil, taskID: ptr("t-2"), checkedAt: &ts2, note: ptr(" leading space, trailing ")},
	},
	{
		{number: "+33612345678", country: ptr("FR"), status: "failed", note: nil},
		{number: "+5511912345678", country: ptr("BR"), status: "checked", whatsapp: ptr(true),
			avatar: ptr("https://example.com/b.png"), category: ptr("animal"), gender: ptr("male"),
			ageMin: ptr[int16](40), ageMax: ptr[int16](40), hairColor: ptr("black"), taskID: ptr("t-3"),
			checkedAt: &ts2, note: ptr(`back\slash "quoted"`)},
		{number: "+61412345678", country: ptr("AU"), status: "checked", whatsapp: ptr(false),
			category: ptr("person"), gender: ptr("female"), hairColor: ptr("brown"), taskID: ptr("t-3"),
			checkedAt: &ts2, note: ptr("\u2028 separators \u2029 and\ttab")},
	},
}

func allRows() []profile {
	var rows []profile
	for _, b := range batches {
		rows = append(rows, b...)
	}
	return rows
}

// buildBatch builds one record with its own builders, so each batch has its
// own dictionaries.
func buildBatch(t testing.TB, mem memory.Allocator, schema *arrow.Schema, rows []profile) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	str := func(i int, v *string) {
		switch fb := b.Field(i).(type) {
		case *array.StringBuilder:
			if v == nil {
				fb.AppendNull()
			} else {
				fb.Append(*v)
			}
		case *array.BinaryDictionaryBuilder:
			if v == nil {
				fb.AppendNull()
			} else {
				require.NoError(t, fb.AppendString(*v))
			}
		default:
			t.Fatalf("field %d: unexpected builder %T", i, fb)
		}
	}
	i16 := func(i int, v *int16) {
		if v == nil {
			b.Field(i).AppendNull()
		} else {
			b.Field(i).(*array.Int16Builder).Append(*v)
		}
	}
	for _, r := range rows {
		str(0, &r.number)
		str(1, r.country)
		str(2, &r.status)
		if r.whatsapp == nil {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.BooleanBuilder).Append(*r.whatsapp)
		}
		str(4, r.avatar)
		str(5, r.category)
		str(6, r.gender)
		i16(7, r.ageMin)
		i16(8, r.ageMax)
		str(9, r.hairColor)
		str(10, r.taskID)
		if r.checkedAt == nil {
			b.Field(11).AppendNull()
		} else {
			b.Field(11).(*array.TimestampBuilder).Append(arrow.Timestamp(r.checkedAt.UnixMilli()))
		}
		str(12, r.note)
	}
	return b.NewRecordBatch()
}

func buildBatches(t testing.TB, mem memory.Allocator, schema *arrow.Schema) []arrow.RecordBatch {
	recs := make([]arrow.RecordBatch, len(batches))
	for i, rows := range batches {
		recs[i] = buildBatch(t, mem, schema, rows)
	}
	return recs
}

func release(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// textCells is a row as the text formats write it: nil for null.
func textCells(r profile) []*string {
	b := func(v *bool) *string {
		if v == nil {
			return nil
		}
		return ptr(strconv.FormatBool(*v))
	}
	i := func(v *int16) *string {
		if v == nil {
			return nil
		}
		return ptr(strconv.Itoa(int(*v)))
	}
	var ts *string
	if r.checkedAt != nil {
		ts = ptr(r.checkedAt.Format("2006-01-02T15:04:05.000Z07:00"))
	}
	return []*string{&r.number, r.country, &r.status, b(r.whatsapp), r.avatar, r.category, r.gender,
		i(r.ageMin), i(r.ageMax), r.hairColor, r.taskID, ts, r.note}
}

// logicalRows renders records cell by cell, dictionaries decoded, so two
// tables with equal values but different dictionary encodings compare equal.
func logicalRows(recs ...arrow.RecordBatch) [][]string {
	var out [][]string
	for _, rec := range recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]string, rec.NumCols())
			for j, col := range rec.Columns() {
				row[j] = cellString(col, i)
			}
			out = append(out, row)
		}
	}
	return out
}

func cellString(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return "<null>"
	}
	if d, ok := col.(*array.Dictionary); ok {
		// The schema pins the dictionary's types; here only the value counts.
		if d.Dictionary().IsNull(d.GetValueIndex(i)) {
			return "<null>"
		}
		return "dict:" + d.Dictionary().ValueStr(d.GetValueIndex(i))
	}
	return fmt.Sprintf("%T:%s", col, col.ValueStr(i))
}
