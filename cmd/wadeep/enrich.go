package main

import (
	"context"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/harness"
	"github.com/wadeep/wadeep/sink"
)

// enrichOut serves check --enrich: it holds the job's profile batches in an
// index by number and, after the job, reads the inputs again and writes the
// enriched view (every input row with its number's profile) to --out.
type enrichOut struct {
	path           string
	stdout, stderr io.Writer
	inputs         []string
	column, format string
	idx            *connector.ProfileIndex
	db             *harness.DB // a .duckdb --out: the view goes to its enriched table
}

// enrichOut returns nil without --enrich. stdin cannot be read twice, so it
// refuses - as an input before anything is called.
func (f *checkFlags) enrichOut(env *cliEnv, inputs []string) (*enrichOut, error) {
	if !f.enrich {
		return nil, nil
	}
	for _, n := range inputs {
		if n == "-" {
			return nil, usagef("--enrich reads the input twice (to plan, then to join the profiles back to its rows); stdin (-) cannot be read twice: give a file")
		}
	}
	return &enrichOut{path: f.out, stdout: env.stdout, stderr: env.stderr, inputs: inputs, column: f.column, format: f.format}, nil
}

// start makes the index for the job's profile schema.
func (e *enrichOut) start(schema *arrow.Schema) error {
	idx, err := connector.NewProfileIndex(schema, memory.DefaultAllocator)
	e.idx = idx
	return err
}

// add is the job's Out.
func (e *enrichOut) add(rec arrow.RecordBatch) error { return e.idx.Add(rec) }

// write runs the enrich pass over the reopened inputs into --out (CSV on
// stdout without one). A failed pass leaves no output file.
func (e *enrichOut) write(ctx context.Context, env *cliEnv, plan *connector.Plan) error {
	schema, err := connector.EnrichedSchema(plan, e.idx.Schema())
	if err != nil {
		return err
	}
	ins, closeInputs, err := openInputs(env, e.inputs, e.column, e.format)
	if err != nil {
		return err
	}
	defer closeInputs()
	var w interface {
		sink.Writer
		Abort() error
	}
	switch {
	case e.db != nil:
		w, err = e.db.NewTableWriter(ctx, harness.TableEnriched, schema)
	case e.path == "" || e.path == "-":
		w, err = sink.New(e.stdout, sink.CSV, schema)
	default:
		w, err = sink.Create(e.path, schema)
	}
	if err != nil {
		return err
	}
	if err := connector.Enrich(ctx, plan, ins, e.idx, w.Write); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

func (e *enrichOut) release() {
	if e.idx != nil {
		e.idx.Release()
	}
}
