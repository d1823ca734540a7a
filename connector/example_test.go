package connector_test

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/emulator"
	"github.com/wadeep/wadeep/sink"
)

// A whole job against the sandbox, Arrow in and Arrow out: plan an Arrow
// table of numbers, open the job's journal, write the profiles to Parquet
// and the rejects to CSV. README.md shows the same lines.
func Example() {
	sandbox := httptest.NewServer(emulator.New(emulator.WithSpeed(math.Inf(1)), emulator.WithStartDelay(0), emulator.WithExportDelay(0)))
	defer sandbox.Close()
	dir, _ := os.MkdirTemp("", "wadeep-example-")
	defer os.RemoveAll(dir)
	reader := crmTable() // an array.RecordReader from your pipeline
	defer reader.Release()
	ctx := context.Background()

	plan, err := connector.NewPlan([]connector.Input{{Name: "crm", Records: reader, Column: "mobile"}},
		connector.PlanOptions{Region: "CH"})
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := connector.NewClient(sandbox.URL, emulator.DefaultAPIKey, "me")
	if err != nil {
		fmt.Println(err)
		return
	}
	journal, err := connector.OpenJournal(filepath.Join(dir, "state"), plan, client)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer journal.Close()

	job := &connector.Job{Client: client, Plan: plan, Journal: journal,
		Poll: connector.PollPolicy{Floor: 10 * time.Millisecond, ExportMin: -1}} // an instant sandbox
	schema, err := job.Schema() // every batch has it, known before the first
	if err != nil {
		fmt.Println(err)
		return
	}
	profiles, err := sink.Create(filepath.Join(dir, "profiles.parquet"), schema)
	if err != nil {
		fmt.Println(err)
		return
	}
	job.Out = profiles.Write // the batch is valid during the call
	summary, err := job.Run(ctx)
	if err != nil {
		profiles.Abort()
		fmt.Println(err)
		return
	}
	if err := profiles.Close(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("rows %d: %d profiles, %d rejected, %d blank; %d charged calls\n",
		plan.Rows, summary.Profiles, len(plan.Rejects), plan.Blank, summary.Calls.Charged())

	rejects := plan.RejectRecords(nil) // file, row, value, reason, detail
	defer rejects.Release()
	for rejects.Next() {
		rec := rejects.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			fmt.Printf("rejected %s row %s %q: %s\n", rec.Column(0).ValueStr(i), rec.Column(1).ValueStr(i), rec.Column(2).ValueStr(i), rec.Column(4).ValueStr(i))
		}
	}
	// Output:
	// rows 4: 2 profiles, 2 rejected, 0 blank; 2 charged calls
	// rejected crm row 2 "079 828 46 51": duplicate of row 1
	// rejected crm row 4 "not a number": not a phone number
}

// crmTable is a small Arrow table with a "mobile" column.
func crmTable() array.RecordReader {
	schema := arrow.NewSchema([]arrow.Field{{Name: "name", Type: arrow.BinaryTypes.String}, {Name: "mobile", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"Ada", "Ada again", "Bea", "Cy"}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"+41798284651", "079 828 46 51", "+33612345678", "not a number"}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	r, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	return r
}
