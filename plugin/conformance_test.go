package plugin_test

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/plugin"
	"github.com/wadeep/wadeep/plugin/plugintest"
)

func TestConformanceInProcess(t *testing.T) {
	plugintest.Run(t, plugintest.Target{Open: func(t *testing.T) plugin.Connector { return plugin.NewInProcess() }})
}

// syncBuffer is a log sink shared by go-plugin's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestConformancePlugin(t *testing.T) {
	bin := os.Getenv(plugintest.HostEnv) // the host process of HostKilled needs no build
	if bin == "" {
		bin = plugin.WadeepBinary(t)
	}
	var logs syncBuffer
	plugintest.Run(t, plugintest.Target{Binary: bin, Open: func(t *testing.T) plugin.Connector {
		log := hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: &logs})
		p, err := plugin.Open(context.Background(), bin, plugin.WithLogger(log))
		require.NoError(t, err)
		return p
	}})
	// Every line the plugin logged at trace level through the whole suite:
	// none holds the key.
	require.Contains(t, logs.String(), "read done")
	require.NotContains(t, logs.String(), plugintest.Key)
}
