package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/internal/fsx"
)

// ProtocolVersion is the plugin protocol this package speaks (go-plugin's
// VersionedPlugins key and Info.Protocol).
const ProtocolVersion = 1

// InputName is the name the stored input table goes by: rejects cite it
// in their file column.
const InputName = "input"

// inputFile is the input table Write keeps in the state directory, as an
// Arrow IPC stream, mode 0600: Read rebuilds the plan from it.
const inputFile = "input.arrows"

// errNoJob is a Read of a state directory Write has not filled.
var errNoJob = errors.New("plugin: no job in the state directory")

// InProcess is the Connector in the caller's process: the library behind
// the plugin. Safe for concurrent use; calls on one state directory take
// its journal's lock, one at a time.
type InProcess struct {
	mem memory.Allocator
}

var _ Connector = (*InProcess)(nil)

// InProcessOption tunes NewInProcess.
type InProcessOption func(*InProcess)

// WithAllocator sets the allocator of the batches Read and Write make
// (default memory.DefaultAllocator).
func WithAllocator(mem memory.Allocator) InProcessOption {
	return func(p *InProcess) { p.mem = mem }
}

// NewInProcess returns the in-process Connector.
func NewInProcess(opts ...InProcessOption) *InProcess {
	p := &InProcess{mem: memory.DefaultAllocator}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Close does nothing: the in-process value holds no resource between calls.
func (p *InProcess) Close() error { return nil }

// Info describes this build.
func (p *InProcess) Info(ctx context.Context) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	return Info{Protocol: ProtocolVersion, Version: wadeepVersion(),
		Capabilities: []string{"write", "read", "checkpoint", "progress", "enrich", "rejects"},
		ConfigSchema: ConfigSchema()}, nil
}

func wadeepVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}

// Discover gives the schemas of the input and of the profiles.
func (p *InProcess) Discover(ctx context.Context, cfg Config) (*Schemas, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pol, err := cfg.policy()
	if err != nil {
		return nil, &ConfigError{Fields: []FieldError{{Field: "pseudonymize", Problem: strings.TrimPrefix(err.Error(), "privacy: ")}}}
	}
	job := &connector.Job{PassThrough: cfg.PassThrough}
	profiles, err := job.Schema()
	if err != nil {
		return nil, &ConfigError{Fields: []FieldError{{Field: "pass_through", Problem: err.Error()}}}
	}
	if profiles, err = pol.Schema(profiles); err != nil {
		return nil, &ConfigError{Fields: []FieldError{{Field: "drop", Problem: strings.TrimPrefix(err.Error(), "privacy: ")}}}
	}
	col := cfg.Column
	if col == "" {
		col = "phone"
	}
	input := arrow.NewSchema([]arrow.Field{{Name: col, Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	s := &Schemas{Input: input, Profiles: profiles}
	// The enriched schema depends on the input's columns: those of the
	// stored table when there is one, else the least input.
	var plan *connector.Plan
	if cfg.StateDir != "" {
		if f, err := os.Open(filepath.Join(cfg.StateDir, inputFile)); err == nil {
			r, rerr := ipc.NewReader(f, ipc.WithAllocator(p.mem))
			if rerr == nil {
				plan, err = connector.NewPlan([]connector.Input{{Name: InputName, Records: emptyReader(r.Schema()), Column: cfg.Column}}, connector.PlanOptions{Region: cfg.Region, Privacy: pol})
				r.Release()
				if err != nil {
					plan = nil
				}
			}
			f.Close()
		}
	}
	if plan == nil {
		plan, err = connector.NewPlan([]connector.Input{{Name: InputName, Records: emptyReader(input), Column: col}}, connector.PlanOptions{Privacy: pol})
		if err != nil {
			return nil, err
		}
	}
	if s.Enriched, err = connector.EnrichedSchema(plan, profiles); err != nil {
		return nil, err
	}
	return s, nil
}

func emptyReader(schema *arrow.Schema) array.RecordReader {
	r, _ := array.NewRecordReader(schema, nil)
	return r
}

// Write plans numbers, keeps them in cfg.StateDir and creates the tasks.
func (p *InProcess) Write(ctx context.Context, cfg Config, numbers array.RecordReader) (*WriteResult, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	if numbers == nil {
		return nil, errors.New("plugin: Write needs a reader of numbers")
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("plugin: state dir: %w", err)
	}
	fsx.SweepStale(cfg.StateDir, time.Hour, ".input-")
	tmp, err := fsx.CreateTemp(cfg.StateDir, ".input-", "")
	if err != nil {
		return nil, fmt.Errorf("plugin: state dir: %w", err)
	}
	defer tmp.Discard()
	pol, err := cfg.policy()
	if err != nil {
		return nil, err
	}
	tee := &teeReader{RecordReader: numbers, w: tmp, mem: p.mem}
	defer tee.close()
	plan, err := connector.NewPlan([]connector.Input{{Name: InputName, Records: tee, Column: cfg.Column}},
		connector.PlanOptions{Region: cfg.Region, ChunkSize: cfg.ChunkSize, Privacy: pol})
	if err != nil {
		return nil, err
	}
	if err := tee.finish(); err != nil {
		return nil, fmt.Errorf("plugin: keeping the input in the state dir: %w", err)
	}
	client, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	journal, err := connector.OpenJournal(cfg.StateDir, plan, client)
	if err != nil {
		return nil, err
	}
	defer journal.Close()
	if err := tmp.Commit(filepath.Join(cfg.StateDir, inputFile)); err != nil {
		return nil, fmt.Errorf("plugin: keeping the input in the state dir: %w", err)
	}
	job := &connector.Job{Client: client, Plan: plan, Journal: journal, ResubmitLost: cfg.ResubmitLost, Mem: p.mem}
	ids, err := job.Submit(ctx)
	if err != nil {
		return nil, err
	}
	res := &WriteResult{Rows: plan.Rows, Numbers: len(plan.Numbers), Rejected: len(plan.Rejects), Blank: plan.Blank,
		Tasks: len(ids), Rejects: plan.RejectRecords(p.mem)}
	res.Created = int(client.Calls().Snapshot().Creates)
	res.Resumed = res.Tasks - res.Created
	return res, nil
}

func newClient(cfg Config) (*connector.Client, error) {
	return connector.NewClient(cfg.APIURL, cfg.APIKey, cfg.UserID)
}

// teeReader passes an input through to the plan and writes every batch to
// the state directory's input file on the way.
type teeReader struct {
	array.RecordReader
	w   io.Writer
	mem memory.Allocator
	ipc *ipc.Writer
	err error
}

func (t *teeReader) Next() bool {
	if t.err != nil {
		return false
	}
	if t.ipc == nil {
		t.ipc = ipc.NewWriter(t.w, ipc.WithSchema(t.RecordReader.Schema()), ipc.WithAllocator(t.mem))
	}
	if !t.RecordReader.Next() {
		return false
	}
	if err := t.ipc.Write(t.RecordReader.RecordBatch()); err != nil {
		t.err = err
		return false
	}
	return true
}

func (t *teeReader) Err() error {
	if t.err != nil {
		return t.err
	}
	return t.RecordReader.Err()
}

// Release is not passed on: the caller owns the input.
func (t *teeReader) Release() {}
func (t *teeReader) Retain()  {}

// finish ends the IPC stream (a table with no batch still has its schema).
func (t *teeReader) finish() error {
	if t.err != nil {
		return t.err
	}
	if t.ipc == nil {
		t.ipc = ipc.NewWriter(t.w, ipc.WithSchema(t.RecordReader.Schema()), ipc.WithAllocator(t.mem))
	}
	w := t.ipc
	t.ipc = nil
	t.err = errors.New("plugin: input already finished")
	return w.Close()
}

func (t *teeReader) close() {
	if t.ipc != nil {
		t.ipc.Close()
		t.ipc = nil
	}
}

// openedJob is a job rebuilt from a state directory: its plan from the kept
// input, its client, its journal (locked).
type openedJob struct {
	plan    *connector.Plan
	client  *connector.Client
	journal *connector.Journal
}

func (p *InProcess) openJob(cfg Config) (*openedJob, error) {
	plan, err := p.planOf(cfg)
	if err != nil {
		return nil, err
	}
	client, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	journal, err := connector.OpenJournal(cfg.StateDir, plan, client)
	if err != nil {
		return nil, err
	}
	return &openedJob{plan: plan, client: client, journal: journal}, nil
}

// openInput opens the kept input table as an Input.
func (p *InProcess) openInput(cfg Config) (connector.Input, func(), error) {
	f, err := os.Open(filepath.Join(cfg.StateDir, inputFile))
	if errors.Is(err, fs.ErrNotExist) {
		return connector.Input{}, nil, fmt.Errorf("%w %s: Write a table to it first", errNoJob, cfg.StateDir)
	}
	if err != nil {
		return connector.Input{}, nil, fmt.Errorf("plugin: state dir: %w", err)
	}
	r, err := ipc.NewReader(f, ipc.WithAllocator(p.mem))
	if err != nil {
		f.Close()
		return connector.Input{}, nil, fmt.Errorf("plugin: state dir: kept input %s: %w", f.Name(), err)
	}
	return connector.Input{Name: InputName, Records: r, Column: cfg.Column}, func() { r.Release(); f.Close() }, nil
}

func (p *InProcess) planOf(cfg Config) (*connector.Plan, error) {
	in, done, err := p.openInput(cfg)
	if err != nil {
		return nil, err
	}
	defer done()
	pol, err := cfg.policy()
	if err != nil {
		return nil, err
	}
	return connector.NewPlan([]connector.Input{in}, connector.PlanOptions{Region: cfg.Region, ChunkSize: cfg.ChunkSize, Privacy: pol})
}

// Read streams the job's profiles (or the enriched view).
func (p *InProcess) Read(ctx context.Context, cfg Config, opts ...ReadOption) (*Reader, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	o := readOptionsOf(opts)
	j, err := p.openJob(cfg)
	if err != nil {
		return nil, err
	}
	from, err := decodeCheckpoint(o.from, streamID(j.plan, cfg))
	if err != nil {
		j.journal.Close()
		return nil, err
	}
	src := &localSource{ch: make(chan event), progSig: make(chan struct{}, 1), done: make(chan struct{})}
	job := &connector.Job{Client: j.client, Plan: j.plan, Journal: j.journal, Parallel: cfg.Parallel,
		Poll:         connector.PollPolicy{Floor: cfg.PollFloor, ExportMin: cfg.ExportMin},
		ResubmitLost: cfg.ResubmitLost, PassThrough: cfg.PassThrough, Mem: p.mem, Progress: src.setProgress}
	schema, err := job.Schema()
	if err != nil {
		j.journal.Close()
		return nil, err
	}
	var idx *connector.ProfileIndex
	if cfg.Enrich {
		if idx, err = connector.NewProfileIndex(schema, p.mem); err == nil {
			schema, err = connector.EnrichedSchema(j.plan, schema)
		}
		if err != nil {
			if idx != nil {
				idx.Release()
			}
			j.journal.Close()
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	src.cancel = cancel
	e := &emitter{src: src, ctx: ctx, from: from, id: streamID(j.plan, cfg)}
	go func() {
		defer close(src.done)
		defer cancel()
		err := func() error {
			defer j.journal.Close()
			if idx == nil {
				job.Out = e.emit
				_, err := job.Run(ctx)
				return err
			}
			defer idx.Release()
			job.Out = idx.Add
			if _, err := job.Run(ctx); err != nil {
				return err
			}
			in, done, err := p.openInput(cfg)
			if err != nil {
				return err
			}
			defer done()
			return connector.Enrich(ctx, j.plan, []connector.Input{in}, idx, e.emit)
		}()
		if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		src.err = err
	}()
	return newReader(schema, src), nil
}

// emitter numbers the job's batches, skips those before the checkpoint and
// hands the rest to the stream.
type emitter struct {
	src   *localSource
	ctx   context.Context
	from  position
	id    string
	batch int64
}

func (e *emitter) emit(rec arrow.RecordBatch) error {
	b := e.batch
	e.batch++
	if b < e.from.Batch {
		return nil
	}
	var off int64
	if b == e.from.Batch {
		off = e.from.Row
	}
	if off >= rec.NumRows() {
		return nil
	}
	if off > 0 {
		rec = rec.NewSlice(off, rec.NumRows())
	} else {
		rec.Retain()
	}
	ev := event{rec: rec, pos: position{Batch: b, Row: off}, cp: encodeCheckpoint(e.id, position{Batch: b + 1})}
	select {
	case e.src.ch <- ev:
		return nil
	case <-e.ctx.Done():
		rec.Release()
		return e.ctx.Err()
	}
}

// localSource is the in-process stream: batches from the job's goroutine,
// one at a time, and the latest progress.
type localSource struct {
	ch      chan event
	progSig chan struct{}
	done    chan struct{}
	err     error // set before done is closed
	cancel  context.CancelFunc

	mu   sync.Mutex
	prog *Progress
}

func (s *localSource) setProgress(p connector.Progress) {
	pr := progressOf(p)
	s.mu.Lock()
	s.prog = &pr
	s.mu.Unlock()
	select {
	case s.progSig <- struct{}{}:
	default:
	}
}

func progressOf(p connector.Progress) Progress {
	pr := Progress{Elapsed: p.Elapsed, Total: p.Total, Done: p.Done, Estimated: p.Estimated, ETA: p.ETA,
		Tasks: len(p.Chunks), Calls: Calls(p.Calls)}
	for _, c := range p.Chunks {
		if c.State == "downloaded" || c.State == "converted" {
			pr.TasksDone++
		}
	}
	return pr
}

func (s *localSource) next() (event, error) {
	select {
	case ev := <-s.ch:
		return ev, nil
	case <-s.progSig:
		s.mu.Lock()
		p := s.prog
		s.mu.Unlock()
		return event{prog: p}, nil
	case <-s.done:
		if s.err != nil {
			return event{}, s.err
		}
		return event{}, io.EOF
	}
}

func (s *localSource) close() {
	s.cancel()
	<-s.done
}
