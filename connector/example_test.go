package connector_test

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/emulator"
)

// A whole job against the sandbox: plan the input, open a journal, run.
func Example() {
	sandbox := httptest.NewServer(emulator.New(emulator.WithSpeed(math.Inf(1)), emulator.WithStartDelay(0), emulator.WithExportDelay(0)))
	defer sandbox.Close()

	input := "+41798284651\n079 828 46 51\n+33612345678\nnot a number\n"
	plan, err := connector.NewPlan([]connector.Input{{Name: "numbers.txt", R: strings.NewReader(input)}},
		connector.PlanOptions{Region: "CH"})
	if err != nil {
		panic(err)
	}
	for _, r := range plan.Rejects {
		fmt.Printf("rejected row %d %q: %s\n", r.Row, r.Value, r.Explain())
	}

	client, err := connector.NewClient(sandbox.URL, emulator.DefaultAPIKey, "me")
	if err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "journal-")
	defer os.RemoveAll(dir)
	journal, err := connector.OpenJournal(dir, connector.JobRecord{APIURL: client.BaseURL(), UserID: "me"})
	if err != nil {
		panic(err)
	}
	defer journal.Close()

	job := &connector.Job{
		Client: client, Plan: plan, Journal: journal,
		Poll: connector.PollPolicy{Floor: 10 * time.Millisecond, Cap: time.Second},
		Out: func(rec arrow.RecordBatch) error {
			var names []string
			for _, f := range rec.Schema().Fields()[:4] {
				names = append(names, f.Name)
			}
			fmt.Println(rec.NumRows(), "profiles; columns:", strings.Join(names, ", "), "...")
			return nil
		},
	}
	sum, err := job.Run(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("tasks:", sum.Tasks, "creations:", sum.Calls.Creates)
	// Output:
	// rejected row 2 "079 828 46 51": duplicate of row 1
	// rejected row 4 "not a number": invalid
	// 2 profiles; columns: number, country, status, whatsapp ...
	// tasks: 1 creations: 1
}
