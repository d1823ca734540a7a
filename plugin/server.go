package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/wadeep/wadeep/connector"
	pb "github.com/wadeep/wadeep/plugin/internal/proto"
)

// Handshake is the go-plugin handshake: a host and a plugin of other
// handshakes refuse each other before any call.
var handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "WADEEP_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "b6f1c3e2-wadeep-plugin-arrow",
}

// The environment the host sets for the plugin process.
const (
	envLogLevel   = "WADEEP_PLUGIN_LOG_LEVEL"   // hclog level name
	envMaxMessage = "WADEEP_PLUGIN_MAX_MESSAGE" // bytes
)

const pluginName = "connector"

// ServeIfPlugin serves the plugin when the process was started as one by
// a go-plugin host (its handshake cookie is in the environment), and then
// returns the exit code and true; otherwise it returns at once with false.
// The wadeep command calls it first thing in main:
//
//	if code, ok := plugin.ServeIfPlugin(); ok {
//		os.Exit(code)
//	}
func ServeIfPlugin() (code int, ok bool) {
	if os.Getenv(handshake.MagicCookieKey) != handshake.MagicCookieValue {
		return 0, false
	}
	return Serve(), true
}

// Serve serves the plugin on the handshake go-plugin set up, until the
// host ends it, and returns the exit code. Stdout belongs to the
// handshake; logs go to stderr as hclog JSON at the level the host asked.
// The plugin exits, removing its socket directory, when its parent dies.
func Serve() int {
	level := hclog.LevelFromString(os.Getenv(envLogLevel))
	if level == hclog.NoLevel {
		level = hclog.Warn
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "wadeep", Level: level, Output: os.Stderr, JSONFormat: true})
	maxMsg := DefaultMaxMessage
	if n, err := strconv.Atoi(os.Getenv(envMaxMessage)); err == nil && n > 0 {
		maxMsg = n
	}
	stop := watchParent(log)
	defer stop()
	limit := grpcMessageLimit(maxMsg)
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: versionedPlugins(&grpcServer{impl: NewInProcess(), max: maxMsg, log: log}),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			// Keep go-plugin's options (they carry AutoMTLS) and raise the
			// 4 MiB default both ways.
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(limit), grpc.MaxSendMsgSize(limit))...)
		},
		Logger: log,
	})
	return 0
}

func versionedPlugins(srv *grpcServer) map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{ProtocolVersion: {pluginName: &grpcPlugin{srv: srv}}}
}

// grpcPlugin is the go-plugin glue of both sides.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	srv *grpcServer // plugin side
}

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	if p.srv == nil {
		return errors.New("plugin: no server")
	}
	pb.RegisterConnectorServer(s, p.srv)
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pb.NewConnectorClient(c), nil
}

// grpcServer serves the in-process Connector over gRPC.
type grpcServer struct {
	pb.UnimplementedConnectorServer
	impl *InProcess
	max  int
	log  hclog.Logger

	mu   sync.Mutex
	busy map[string]chan struct{} // state dir → closed when its call ends
}

// handoverWait bounds how long a call waits for the previous call on its
// state directory to end.
const handoverWait = 5 * time.Second

// enter waits until no earlier call on dir is running (a host that
// released a Reader has cancelled its stream, but the plugin's handler may
// still be closing the journal), then marks dir busy until leave is called.
// After handoverWait it goes ahead and the journal's lock decides.
func (s *grpcServer) enter(ctx context.Context, dir string) (leave func()) {
	timer := time.NewTimer(handoverWait)
	defer timer.Stop()
	for {
		s.mu.Lock()
		prev, ok := s.busy[dir]
		if !ok {
			if s.busy == nil {
				s.busy = map[string]chan struct{}{}
			}
			ch := make(chan struct{})
			s.busy[dir] = ch
			s.mu.Unlock()
			return func() {
				s.mu.Lock()
				delete(s.busy, dir)
				s.mu.Unlock()
				close(ch)
			}
		}
		s.mu.Unlock()
		select {
		case <-prev:
		case <-ctx.Done():
			return func() {}
		case <-timer.C:
			return func() {}
		}
	}
}

func decodeConfig(b []byte) (Config, error) {
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, &ConfigError{Fields: []FieldError{{Field: "(config)", Problem: "not the JSON of a config: " + err.Error()}}}
	}
	return cfg, nil
}

func (s *grpcServer) fail(call string, err error, cfg Config) error {
	st := toStatus(err, cfg.APIKey)
	s.log.Error(call+" failed", "error", redact(err.Error(), cfg.APIKey), "state_dir", cfg.StateDir)
	return st
}

func (s *grpcServer) Info(ctx context.Context, _ *pb.InfoRequest) (*pb.InfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, s.fail("info", err, Config{})
	}
	return &pb.InfoResponse{Protocol: int32(info.Protocol), Version: info.Version, Capabilities: info.Capabilities, ConfigSchema: info.ConfigSchema}, nil
}

func (s *grpcServer) Validate(ctx context.Context, req *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	cfg, err := decodeConfig(req.GetConfig())
	if err == nil {
		err = s.impl.Validate(ctx, cfg)
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		return fieldErrorsPB(ce.Fields), nil
	}
	if err != nil {
		return nil, s.fail("validate", err, cfg)
	}
	return &pb.ValidateResponse{}, nil
}

func (s *grpcServer) Discover(ctx context.Context, req *pb.DiscoverRequest) (*pb.DiscoverResponse, error) {
	cfg, err := decodeConfig(req.GetConfig())
	if err != nil {
		return nil, s.fail("discover", err, cfg)
	}
	sc, err := s.impl.Discover(ctx, cfg)
	if err != nil {
		return nil, s.fail("discover", err, cfg)
	}
	return &pb.DiscoverResponse{Input: encodeSchema(sc.Input), Profiles: encodeSchema(sc.Profiles), Enriched: encodeSchema(sc.Enriched)}, nil
}

// wireReader is the input of a Write as it arrives: batches decoded from
// the stream, checked against the schema of the first message.
type wireReader struct {
	stream pb.Connector_WriteServer
	schema *arrow.Schema
	mem    memory.Allocator
	cur    arrow.RecordBatch
	err    error
}

func (r *wireReader) Schema() *arrow.Schema { return r.schema }
func (r *wireReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil {
		return false
	}
	for {
		req, err := r.stream.Recv()
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			r.err = err
			return false
		}
		if len(req.GetBatch()) == 0 {
			continue
		}
		r.cur, r.err = decodeBatch(req.GetBatch(), r.schema, r.mem)
		return r.err == nil
	}
}
func (r *wireReader) RecordBatch() arrow.RecordBatch { return r.cur }
func (r *wireReader) Record() arrow.RecordBatch      { return r.cur }
func (r *wireReader) Err() error                     { return r.err }
func (r *wireReader) Retain()                        {}
func (r *wireReader) Release() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (s *grpcServer) Write(stream pb.Connector_WriteServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	cfg, err := decodeConfig(first.GetConfig())
	if err != nil {
		return s.fail("write", err, cfg)
	}
	schema, err := decodeSchema(first.GetBatch())
	if err != nil {
		return s.fail("write", err, cfg)
	}
	defer s.enter(stream.Context(), cfg.StateDir)()
	s.log.Info("write", "state_dir", cfg.StateDir, "api_url", connector.RedactURL(cfg.APIURL))
	in := &wireReader{stream: stream, schema: schema, mem: s.impl.mem}
	defer in.Release()
	res, err := s.impl.Write(stream.Context(), cfg, in)
	if err != nil {
		return s.fail("write", err, cfg)
	}
	defer res.Release()
	sp := &splitter{max: s.max, mem: s.impl.mem}
	for res.Rejects.Next() {
		err := sp.each(res.Rejects.RecordBatch(), 0, func(b []byte, _, _ int64) error {
			return stream.Send(&pb.WriteResponse{Rejects: b})
		})
		if err != nil {
			return s.fail("write", err, cfg)
		}
	}
	s.log.Info("write done", "rows", res.Rows, "numbers", res.Numbers, "rejected", res.Rejected, "tasks", res.Tasks, "created", res.Created)
	return stream.Send(&pb.WriteResponse{Counts: &pb.WriteCounts{Rows: int64(res.Rows), Numbers: int64(res.Numbers),
		Rejected: int64(res.Rejected), Blank: int64(res.Blank), Tasks: int64(res.Tasks), Created: int64(res.Created), Resumed: int64(res.Resumed)}})
}

func (s *grpcServer) Read(req *pb.ReadRequest, stream pb.Connector_ReadServer) error {
	cfg, err := decodeConfig(req.GetConfig())
	if err != nil {
		return s.fail("read", err, cfg)
	}
	defer s.enter(stream.Context(), cfg.StateDir)()
	s.log.Info("read", "state_dir", cfg.StateDir, "api_url", connector.RedactURL(cfg.APIURL), "enrich", cfg.Enrich)
	r, err := s.impl.Read(stream.Context(), cfg, FromCheckpoint(req.GetCheckpoint()))
	if err != nil {
		return s.fail("read", err, cfg)
	}
	defer r.Release()
	if err := stream.Send(&pb.ReadResponse{Schema: encodeSchema(r.Schema())}); err != nil {
		return err
	}
	sp := &splitter{max: s.max, mem: s.impl.mem}
	id := ""
	var rows int64
	for {
		ev, err := r.src.next()
		if errors.Is(err, io.EOF) {
			s.log.Info("read done", "rows", rows)
			return nil
		}
		if err != nil {
			return s.fail("read", err, cfg)
		}
		if ev.prog != nil {
			s.log.Debug("progress", "done", ev.prog.Done, "total", ev.prog.Total, "charged", ev.prog.Calls.Charged())
			if err := stream.Send(&pb.ReadResponse{Progress: progressPB(*ev.prog)}); err != nil {
				return err
			}
			continue
		}
		if id == "" {
			id, err = checkpointJob(ev.cp)
			if err != nil {
				ev.rec.Release()
				return s.fail("read", err, cfg)
			}
		}
		n := ev.rec.NumRows()
		err = sp.each(ev.rec, rows, func(b []byte, lo, hi int64) error {
			cp := ev.cp
			if hi < n {
				cp = encodeCheckpoint(id, position{Batch: ev.pos.Batch, Row: ev.pos.Row + hi})
			}
			return stream.Send(&pb.ReadResponse{Batch: b, Checkpoint: cp})
		})
		ev.rec.Release()
		rows += n
		if err != nil {
			return s.fail("read", err, cfg)
		}
	}
}

// checkpointJob is the stream identity a checkpoint of ours holds.
func checkpointJob(cp Checkpoint) (string, error) {
	var c checkpointJSON
	if err := json.Unmarshal(cp, &c); err != nil {
		return "", fmt.Errorf("plugin: internal checkpoint: %w", err)
	}
	return c.Job, nil
}

func progressPB(p Progress) *pb.Progress {
	return &pb.Progress{ElapsedNs: int64(p.Elapsed), Total: int64(p.Total), Done: int64(p.Done), Estimated: p.Estimated,
		EtaNs: int64(p.ETA), Tasks: int64(p.Tasks), TasksDone: int64(p.TasksDone),
		Calls: &pb.Calls{Creates: p.Calls.Creates, Statuses: p.Calls.Statuses, Downloads: p.Calls.Downloads, Errors: p.Calls.Errors}}
}
