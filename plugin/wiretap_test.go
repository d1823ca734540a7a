package plugin_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/wadeep/wadeep/plugin"
	"github.com/wadeep/wadeep/plugin/plugintest"
)

// tap records every message the host receives from the plugin.
type tap struct {
	mu  sync.Mutex
	buf bytes.Buffer
	n   int
}

func (tp *tap) add(m any) {
	if pm, ok := m.(proto.Message); ok {
		b, _ := proto.Marshal(pm)
		tp.mu.Lock()
		tp.buf.Write(b)
		tp.n++
		tp.mu.Unlock()
	}
}

type tapStream struct {
	grpc.ClientStream
	tp *tap
}

func (s tapStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil {
		s.tp.add(m)
	}
	return err
}

func (tp *tap) options() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			err := invoker(ctx, method, req, reply, cc, opts...)
			tp.add(reply)
			return err
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			s, err := streamer(ctx, desc, cc, method, opts...)
			if err != nil {
				return nil, err
			}
			return tapStream{ClientStream: s, tp: tp}, nil
		}),
	}
}

// TestKeyNeverCrossesBack runs every call, and calls that fail on a
// refused key, through the real plugin process and looks for the key in
// every message received, every error and every log line.
func TestKeyNeverCrossesBack(t *testing.T) {
	bin := plugin.WadeepBinary(t)
	tp := &tap{}
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	})})
	p, err := plugin.Open(context.Background(), bin, plugin.WithLogger(log), plugin.WithDialOptions(tp.options()...))
	require.NoError(t, err)
	defer p.Close()
	ctx := context.Background()
	sb := plugintest.NewSandbox(t, 1e9)
	cfg := sb.Config(t)
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	_, err = p.Info(ctx)
	note(err)
	note(p.Validate(ctx, cfg))
	_, err = p.Discover(ctx, cfg)
	note(err)
	in := plugintest.Numbers(50, plugintest.Key[:6])
	res, err := p.Write(ctx, cfg, in)
	in.Release()
	require.NoError(t, err)
	res.Release()
	r, err := p.Read(ctx, cfg)
	require.NoError(t, err)
	plugintest.Rows(t, r)
	r.Release()
	// A wrong key: the upstream refuses it, and the error comes back.
	bad := sb.Config(t)
	bad.APIKey = "wrong-" + plugintest.Key
	in = plugintest.Numbers(5, "")
	_, err = p.Write(ctx, bad, in)
	in.Release()
	require.Error(t, err)
	note(err)
	bad.StateDir = "relative"
	note(p.Validate(ctx, bad))
	_, err = p.Read(ctx, bad)
	note(err)

	require.Greater(t, tp.n, 5)
	logMu.Lock()
	defer logMu.Unlock()
	require.Contains(t, logs.String(), "write done")
	for what, s := range map[string]string{"messages": tp.buf.String(), "logs": logs.String(), "errors": fmtErrs(errs)} {
		require.NotContains(t, s, plugintest.Key, "the key in the %s", what)
	}
	require.Contains(t, fmtErrs(errs), "401 Unauthorized")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func fmtErrs(errs []string) string {
	var b bytes.Buffer
	for _, e := range errs {
		b.WriteString(e + "\n")
	}
	return b.String()
}
