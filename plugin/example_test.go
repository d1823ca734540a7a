package plugin_test

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
	"github.com/wadeep/wadeep/plugin"
	"github.com/wadeep/wadeep/plugin/plugintest"
)

// The host of docs/plugin.md, in process: push a table of numbers, read
// back the profiles. TestExampleProcess runs the same lines against the
// built plugin binary, started with plugin.Open.
func Example() {
	sandbox := httptest.NewServer(emulator.New(emulator.WithAPIKey(plugintest.Key), // the offline sandbox on loopback
		emulator.WithSpeed(math.Inf(1)), emulator.WithStartDelay(0), emulator.WithExportDelay(0)))
	defer sandbox.Close()
	dir, _ := os.MkdirTemp("", "wadeep-example-")
	defer os.RemoveAll(dir)

	p := plugin.NewInProcess() // or: p, err := plugin.Open(ctx, "/usr/local/bin/wadeep")
	defer p.Close()
	if err := host(context.Background(), p, sandbox.URL, filepath.Join(dir, "state")); err != nil {
		fmt.Println(err)
	}
	// Output:
	// rows 4: 2 numbers, 2 rejected, 0 blank; 1 task created
	// rejected row 2 "079 828 46 51": duplicate of row 1
	// rejected row 4 "not a number": not a phone number
	// +41798284651 CH checked
	// +33612345678 FR checked
}

func host(ctx context.Context, p plugin.Connector, url, dir string) error {
	numbers := crmTable() // an array.RecordReader from the pipeline
	defer numbers.Release()
	cfg := plugin.Config{APIURL: url, APIKey: plugintest.Key, UserID: "me", StateDir: dir, Column: "mobile", Region: "CH",
		PollFloor: 10e6, ExportMin: -1} // an instant sandbox
	res, err := p.Write(ctx, cfg, numbers) // destination: plan, journal, create the tasks
	if err != nil {
		return err
	}
	defer res.Release()
	fmt.Printf("rows %d: %d numbers, %d rejected, %d blank; %d task created\n", res.Rows, res.Numbers, res.Rejected, res.Blank, res.Created)
	for res.Rejects.Next() {
		rec := res.Rejects.RecordBatch() // file, row, value, reason
		for i := 0; i < int(rec.NumRows()); i++ {
			fmt.Printf("rejected row %s %q: %s\n", rec.Column(1).ValueStr(i), rec.Column(2).ValueStr(i), rec.Column(4).ValueStr(i))
		}
	}
	profiles, err := p.Read(ctx, cfg) // source: the profiles as they finish
	if err != nil {
		return err
	}
	defer profiles.Release()
	for profiles.Next() {
		rec := profiles.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			fmt.Println(rec.Column(0).ValueStr(i), rec.Column(1).ValueStr(i), rec.Column(2).ValueStr(i))
		}
	}
	return profiles.Err()
}

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

// TestExampleProcess runs Example's host against the built binary, as
// docs/plugin.md shows it.
func TestExampleProcess(t *testing.T) {
	bin := plugin.WadeepBinary(t)
	sandbox := plugintest.NewSandbox(t, math.Inf(1))
	ctx := context.Background()
	p, err := plugin.Open(ctx, bin)
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, host(ctx, p, sandbox.URL, filepath.Join(t.TempDir(), "state")))
	require.Equal(t, 2, sandbox.Charged(), "one creation and one status call")
}
