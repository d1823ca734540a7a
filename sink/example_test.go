package sink_test

import (
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/wadeep/wadeep/sink"
)

func ExampleNew() {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "number", Type: arrow.BinaryTypes.String},
		{Name: "status", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}},
		{Name: "whatsapp", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "age_min", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
		{Name: "checked_at", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"+14155550100", "+819012345678"}, nil)
	status := b.Field(1).(*array.BinaryDictionaryBuilder)
	_ = status.AppendString("checked")
	_ = status.AppendString("failed")
	b.Field(2).(*array.BooleanBuilder).AppendValues([]bool{true, false}, []bool{true, false})
	b.Field(3).(*array.Int16Builder).AppendValues([]int16{25, 0}, []bool{true, false})
	b.Field(4).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1729364023141, 0}, []bool{true, false})
	rec := b.NewRecordBatch()
	defer rec.Release()

	for _, format := range []sink.Format{sink.CSV, sink.JSONL} {
		w, err := sink.New(os.Stdout, format, schema)
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := w.Write(rec); err != nil {
			fmt.Println(err)
		}
		if err := w.Close(); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// number,status,whatsapp,age_min,checked_at
	// +14155550100,checked,true,25,2024-10-19T18:53:43.141Z
	// +819012345678,failed,,,
	// {"number":"+14155550100","status":"checked","whatsapp":true,"age_min":25,"checked_at":"2024-10-19T18:53:43.141Z"}
	// {"number":"+819012345678","status":"failed","whatsapp":null,"age_min":null,"checked_at":null}
}

func ExampleNew_neverWritten() {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "number", Type: arrow.BinaryTypes.String},
		{Name: "skin_color", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	_, err := sink.New(os.Stdout, sink.Parquet, schema)
	fmt.Println(err)
	// Output:
	// sink: column skin_color is never written (see docs/privacy.md)
}
