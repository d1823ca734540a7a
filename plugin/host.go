package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/wadeep/wadeep/connector"
	pb "github.com/wadeep/wadeep/plugin/internal/proto"
)

// Plugin is a wadeep plugin process, started by Open. Its methods are the
// Connector's; each call is one gRPC call to the process. Safe for
// concurrent use. Close ends the process.
type Plugin struct {
	client  *goplugin.Client
	rpc     pb.ConnectorClient
	sockDir string
	mem     memory.Allocator
	max     int
	pid     int
	once    sync.Once
	err     error
}

var _ Connector = (*Plugin)(nil)

// Option tunes Open.
type Option func(*openOptions)

type openOptions struct {
	logger  hclog.Logger
	max     int
	timeout time.Duration
	mem     memory.Allocator
	env     []string
	dial    []grpc.DialOption // tests: a tap on the wire
}

// WithLogger receives the plugin's log lines (hclog JSON on its stderr,
// re-logged by go-plugin) and go-plugin's own; the plugin logs at this
// logger's level. The default logs warnings and errors to stderr.
func WithLogger(l hclog.Logger) Option { return func(o *openOptions) { o.logger = l } }

// WithMaxMessage sets the most bytes of one batch message, both ways
// (default DefaultMaxMessage); bigger batches are split by rows.
func WithMaxMessage(n int) Option { return func(o *openOptions) { o.max = n } }

// WithStartTimeout bounds the plugin's start (default 30 s).
func WithStartTimeout(d time.Duration) Option { return func(o *openOptions) { o.timeout = d } }

// WithHostAllocator sets the allocator of the batches the host decodes.
func WithHostAllocator(mem memory.Allocator) Option { return func(o *openOptions) { o.mem = mem } }

// WithEnv adds "KEY=value" entries to the plugin process's environment
// (it otherwise inherits the host's).
func WithEnv(kv ...string) Option { return func(o *openOptions) { o.env = append(o.env, kv...) } }

// Open starts the wadeep binary at path as a plugin and connects to it.
// The process lives until Close, which the caller must call (also after
// an error of any other method); ctx bounds the start only.
func Open(ctx context.Context, path string, opts ...Option) (*Plugin, error) {
	o := openOptions{max: DefaultMaxMessage, timeout: 30 * time.Second, mem: memory.DefaultAllocator}
	for _, f := range opts {
		f(&o)
	}
	if o.max <= 0 {
		return nil, fmt.Errorf("plugin: max message %d: want a positive size", o.max)
	}
	if o.logger == nil {
		o.logger = hclog.New(&hclog.LoggerOptions{Name: "wadeep", Level: hclog.Warn, Output: os.Stderr})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A private directory for the plugin's unix socket: Close removes it,
	// and so does the plugin when it sees its host die.
	sockDir, err := os.MkdirTemp("", socketDirPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("plugin: %w", err)
	}
	cmd := exec.Command(path)
	cmd.Env = append(os.Environ(), o.env...)
	cmd.Env = append(cmd.Env,
		goplugin.EnvUnixSocketDir+"="+sockDir,
		envLogLevel+"="+o.logger.GetLevel().String(),
		envMaxMessage+"="+strconv.Itoa(o.max))
	setDeathSignal(cmd)
	limit := grpcMessageLimit(o.max)
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: versionedPlugins(nil),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           o.logger,
		StartTimeout:     o.timeout,
		GRPCDialOptions: append([]grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(limit), grpc.MaxCallSendMsgSize(limit))}, o.dial...),
	})
	p := &Plugin{client: client, sockDir: sockDir, mem: o.mem, max: o.max}
	started := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			client.Kill()
		case <-started:
		}
	}()
	err = p.connect()
	close(started)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("plugin: starting %s: %w", path, err), p.Close())
	}
	return p, nil
}

func (p *Plugin) connect() error {
	rc, err := p.client.Client()
	if err != nil {
		return err
	}
	raw, err := rc.Dispense(pluginName)
	if err != nil {
		return err
	}
	rpc, ok := raw.(pb.ConnectorClient)
	if !ok {
		return fmt.Errorf("the plugin served %T", raw)
	}
	p.rpc = rpc
	if rc := p.client.ReattachConfig(); rc != nil {
		p.pid = rc.Pid
	}
	if v := p.client.NegotiatedVersion(); v != ProtocolVersion {
		return fmt.Errorf("the plugin speaks protocol %d, this host %d", v, ProtocolVersion)
	}
	return nil
}

// Pid is the plugin process's id.
func (p *Plugin) Pid() int { return p.pid }

// Close ends the plugin process (asking it first, then killing it) and
// removes its socket directory. It is safe to call more than once.
func (p *Plugin) Close() error {
	p.once.Do(func() {
		p.client.Kill()
		if err := os.RemoveAll(p.sockDir); err != nil {
			p.err = fmt.Errorf("plugin: %w", err)
		}
	})
	return p.err
}

// exited reports whether the process has ended, allowing go-plugin a
// moment to notice an exit that broke a call.
func (p *Plugin) exited() bool {
	for i := 0; i < 20; i++ {
		if p.client.Exited() {
			return true
		}
		time.Sleep(25 * time.Millisecond)
	}
	return false
}

func (p *Plugin) fail(ctx context.Context, err error) error {
	return fromStatus(ctx, err, p.exited)
}

func configJSON(cfg Config) []byte {
	b, _ := json.Marshal(cfg)
	return b
}

// Info asks the plugin which protocol and version it is.
func (p *Plugin) Info(ctx context.Context) (Info, error) {
	r, err := p.rpc.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return Info{}, p.fail(ctx, err)
	}
	return Info{Protocol: int(r.GetProtocol()), Version: r.GetVersion(), Capabilities: r.GetCapabilities(), ConfigSchema: r.GetConfigSchema()}, nil
}

// Validate asks the plugin to check cfg (no network call).
func (p *Plugin) Validate(ctx context.Context, cfg Config) error {
	r, err := p.rpc.Validate(ctx, &pb.ValidateRequest{Config: configJSON(cfg)})
	if err != nil {
		return p.fail(ctx, err)
	}
	if len(r.GetErrors()) > 0 {
		return &ConfigError{Fields: fieldErrorsOf(r)}
	}
	return nil
}

// Discover asks the plugin for its schemas.
func (p *Plugin) Discover(ctx context.Context, cfg Config) (*Schemas, error) {
	r, err := p.rpc.Discover(ctx, &pb.DiscoverRequest{Config: configJSON(cfg)})
	if err != nil {
		return nil, p.fail(ctx, err)
	}
	var s Schemas
	for _, f := range []struct {
		b   []byte
		dst **arrow.Schema
	}{{r.GetInput(), &s.Input}, {r.GetProfiles(), &s.Profiles}, {r.GetEnriched(), &s.Enriched}} {
		if *f.dst, err = decodeSchema(f.b); err != nil {
			return nil, err
		}
	}
	return &s, nil
}

// Write streams numbers to the plugin, which plans, journals and creates
// the tasks; the rejects come back as Arrow.
func (p *Plugin) Write(ctx context.Context, cfg Config, numbers array.RecordReader) (*WriteResult, error) {
	if numbers == nil {
		return nil, errors.New("plugin: Write needs a reader of numbers")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := p.rpc.Write(ctx)
	if err != nil {
		return nil, p.fail(ctx, err)
	}
	if err := stream.Send(&pb.WriteRequest{Config: configJSON(cfg), Batch: encodeSchema(numbers.Schema())}); err != nil {
		return nil, p.writeErr(ctx, stream, err)
	}
	sp := &splitter{max: p.max, mem: p.mem}
	var rows int64
	for numbers.Next() {
		rec := numbers.RecordBatch()
		err := sp.each(rec, rows, func(b []byte, _, _ int64) error { return stream.Send(&pb.WriteRequest{Batch: b}) })
		rows += rec.NumRows()
		if err != nil {
			return nil, p.writeErr(ctx, stream, err)
		}
	}
	if err := numbers.Err(); err != nil {
		return nil, fmt.Errorf("plugin: reading the numbers: %w", err)
	}
	if err := stream.CloseSend(); err != nil {
		return nil, p.writeErr(ctx, stream, err)
	}
	var rejects []arrow.RecordBatch
	release := func() {
		for _, r := range rejects {
			r.Release()
		}
	}
	schema := connector.RejectSchema()
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			release()
			return nil, fmt.Errorf("%w: the plugin ended Write without its counts", ErrExited)
		}
		if err != nil {
			release()
			return nil, p.fail(ctx, err)
		}
		if b := resp.GetRejects(); len(b) > 0 {
			rec, err := decodeBatch(b, schema, p.mem)
			if err != nil {
				release()
				return nil, err
			}
			rejects = append(rejects, rec)
		}
		if c := resp.GetCounts(); c != nil {
			rr, err := array.NewRecordReader(schema, rejects)
			release()
			if err != nil {
				return nil, fmt.Errorf("plugin: rejects: %w", err)
			}
			return &WriteResult{Rows: int(c.GetRows()), Numbers: int(c.GetNumbers()), Rejected: int(c.GetRejected()),
				Blank: int(c.GetBlank()), Tasks: int(c.GetTasks()), Created: int(c.GetCreated()), Resumed: int(c.GetResumed()), Rejects: rr}, nil
		}
	}
}

// writeErr is the error of a failed send: the plugin's own, when it ended
// the call (a Send only says EOF then).
func (p *Plugin) writeErr(ctx context.Context, stream pb.Connector_WriteClient, err error) error {
	if errors.Is(err, io.EOF) {
		if _, rerr := stream.Recv(); rerr != nil && !errors.Is(rerr, io.EOF) {
			return p.fail(ctx, rerr)
		}
	}
	if errors.Is(err, errTooLarge) {
		return err
	}
	return p.fail(ctx, err)
}

// Read opens the plugin's stream of profiles. The stream's schema comes
// first; the call fails here if the plugin refuses the config or the job.
func (p *Plugin) Read(ctx context.Context, cfg Config, opts ...ReadOption) (*Reader, error) {
	o := readOptionsOf(opts)
	ctx, cancel := context.WithCancel(ctx)
	stream, err := p.rpc.Read(ctx, &pb.ReadRequest{Config: configJSON(cfg), Checkpoint: o.from})
	if err != nil {
		cancel()
		return nil, p.fail(ctx, err)
	}
	first, err := stream.Recv()
	if err != nil {
		cancel()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the plugin ended Read before its schema", ErrExited)
		}
		return nil, p.fail(ctx, err)
	}
	schema, err := decodeSchema(first.GetSchema())
	if err != nil {
		cancel()
		return nil, err
	}
	return newReader(schema, &remoteSource{p: p, ctx: ctx, cancel: cancel, stream: stream, schema: schema}), nil
}

// remoteSource is a Read's stream from the plugin process.
type remoteSource struct {
	p      *Plugin
	ctx    context.Context
	cancel context.CancelFunc
	stream pb.Connector_ReadClient
	schema *arrow.Schema
}

func (s *remoteSource) next() (event, error) {
	for {
		resp, err := s.stream.Recv()
		if errors.Is(err, io.EOF) {
			return event{}, io.EOF
		}
		if err != nil {
			return event{}, s.p.fail(s.ctx, err)
		}
		if pr := resp.GetProgress(); pr != nil {
			p := progressFromPB(pr)
			return event{prog: &p}, nil
		}
		if b := resp.GetBatch(); len(b) > 0 {
			rec, err := decodeBatch(b, s.schema, s.p.mem)
			if err != nil {
				return event{}, err
			}
			return event{rec: rec, cp: bytes.Clone(resp.GetCheckpoint())}, nil
		}
	}
}

func (s *remoteSource) close() { s.cancel() }

func progressFromPB(p *pb.Progress) Progress {
	c := p.GetCalls()
	return Progress{Elapsed: time.Duration(p.GetElapsedNs()), Total: int(p.GetTotal()), Done: int(p.GetDone()),
		Estimated: p.GetEstimated(), ETA: time.Duration(p.GetEtaNs()), Tasks: int(p.GetTasks()), TasksDone: int(p.GetTasksDone()),
		Calls: Calls{Creates: c.GetCreates(), Statuses: c.GetStatuses(), Downloads: c.GetDownloads(), Errors: c.GetErrors()}}
}
