package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/harness"
	"github.com/wadeep/wadeep/sink"
)

// profileOut writes profile batches to --out (or CSV on stdout). The file is
// created on the first batch, whose schema (pass-through columns included)
// fixes the output's; later batches are conformed to it.
type profileOut struct {
	path   string
	stdout io.Writer
	stderr io.Writer
	w      sink.Writer
	schema *arrow.Schema
	warned map[string]bool

	// db is set for a .duckdb --out: batches are merged into its profiles
	// table, one transaction per chunk (chunkDone).
	db *harness.DB
	pw *harness.ProfileWriter
}

func newProfileOut(path string, stdout, stderr io.Writer) (*profileOut, error) {
	if path != "" && path != "-" && !isDuckDB(path) {
		if _, err := sink.FormatFromPath(path); err != nil {
			return nil, usageError{"--out: " + err.Error()}
		}
	}
	return &profileOut{path: path, stdout: stdout, stderr: stderr, warned: map[string]bool{}}, nil
}

// checkOutput refuses an output path that could not be written, before
// anything is charged (sink.CheckPath): an unknown extension, a missing or
// read-only directory. "" is no output; "-" is stdout where stdoutOK.
func checkOutput(flag, path string, stdoutOK bool) error {
	if path == "" || (path == "-" && stdoutOK) {
		return nil
	}
	if isDuckDB(path) {
		return usagef("%s %s: a DuckDB database is written by --out only", flag, path)
	}
	if err := sink.CheckPath(path); err != nil {
		return usageError{fmt.Sprintf("%s: %v", flag, err)}
	}
	return nil
}

func (o *profileOut) open(schema *arrow.Schema) error {
	var (
		w   sink.Writer
		err error
	)
	switch {
	case o.db != nil:
		o.pw, err = o.db.NewProfileWriter(context.Background(), schema)
		w = o.pw
	case isDuckDB(o.path):
		return fmt.Errorf("%s: the database is not open", o.path)
	case o.path == "" || o.path == "-":
		w, err = sink.New(o.stdout, sink.CSV, schema)
	default:
		w, err = sink.Create(o.path, schema)
	}
	if err != nil {
		return err // o.w stays nil: a typed nil in it would look open
	}
	o.w, o.schema = w, schema
	return nil
}

func (o *profileOut) write(rec arrow.RecordBatch) error {
	if o.w == nil {
		if err := o.open(rec.Schema()); err != nil {
			return err
		}
	}
	out, dropped, err := arrowconv.Conform(memory.DefaultAllocator, rec, o.schema)
	if err != nil {
		return err
	}
	defer out.Release()
	for _, d := range dropped {
		if !o.warned[d] {
			o.warned[d] = true
			fmt.Fprintf(o.stderr, "wadeep: warning: a later result file has a column %q the output was not started with; it is left out\n", d)
		}
	}
	return o.w.Write(out)
}

// chunkDone commits a chunk to a .duckdb output; other outputs need not.
func (o *profileOut) chunkDone(c connector.ChunkDone) error {
	if o.pw == nil {
		return nil
	}
	return o.pw.EndChunk(taskRow(c))
}

// close finishes the output; with no batch at all it still writes an empty
// table of the profile schema, so that downstream steps find a file.
func (o *profileOut) close() error {
	if o.w == nil {
		if err := o.open(arrowconv.Schema()); err != nil {
			return err
		}
	}
	return o.w.Close()
}

// abort drops a half-written output: no file appears, no footer is written.
func (o *profileOut) abort() {
	if a, ok := o.w.(interface{ Abort() error }); ok {
		a.Abort()
	}
}

// writeRejects writes the plan's rejects (file, row, value, reason) to path,
// in any output format.
func writeRejects(path string, plan *connector.Plan) error {
	r := plan.RejectRecords(memory.DefaultAllocator)
	defer r.Release()
	w, err := sink.Create(path, r.Schema())
	if err != nil {
		return err
	}
	for r.Next() {
		if err := w.Write(r.RecordBatch()); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close()
}

// openInputs opens the named inputs ("-" is stdin). close closes them.
func openInputs(env *cliEnv, names []string, column, format string) (inputs []connector.Input, close func(), err error) {
	var files []*os.File
	close = func() {
		for _, f := range files {
			f.Close()
		}
	}
	stdinUsed := false
	for _, n := range names {
		in := connector.Input{Name: n, Column: column, Format: format}
		if n == "-" {
			if stdinUsed {
				close()
				return nil, nil, usagef("stdin (-) given twice")
			}
			stdinUsed = true
			in.R = env.stdin
		} else {
			f, err := os.Open(n)
			if err != nil {
				close()
				return nil, nil, err
			}
			files = append(files, f)
			st, err := f.Stat()
			if err != nil {
				close()
				return nil, nil, err
			}
			if st.IsDir() {
				close()
				return nil, nil, usagef("%s is a directory; give the input files in it", n)
			}
			in.R, in.RA, in.Size = f, f, st.Size()
		}
		inputs = append(inputs, in)
	}
	return inputs, close, nil
}
