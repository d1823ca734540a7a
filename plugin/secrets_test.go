package plugin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wadeep/wadeep/emulator"
	"github.com/wadeep/wadeep/internal/secrettest"
	"github.com/wadeep/wadeep/plugin"
	"github.com/wadeep/wadeep/plugin/plugintest"
)

// TestSecretPlugin gives the real plugin process a random API key in
// Config.APIKey, runs Validate, Discover, Write and Read on sandboxes that
// refuse the key, answer 500 for good, cut downloads, answer 429 or echo
// the key in their error pages, and looks for the key in every error the
// host got (as %v, %+v and %#v), every message the host received (the
// wire tap), every line the plugin logged at trace level as go-plugin
// forwards its stderr to the host's logger, and every file under the
// plugin's state directories and its private TMPDIR and HOME, read while
// the calls ran and after.
func TestSecretPlugin(t *testing.T) {
	bin := plugin.WadeepBinary(t)
	key := secrettest.NewKey()
	scan := secrettest.New(key)
	root := t.TempDir() // the plugin's TMPDIR, HOME and XDG dirs, and every state dir
	for _, d := range []string{"tmp", "home", "xdg", "state"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o700))
	}
	var logs syncBuffer
	log := hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Trace, Output: &logs, JSONFormat: true})
	tp := &tap{}
	p, err := plugin.Open(context.Background(), bin, plugin.WithLogger(log), plugin.WithDialOptions(tp.options()...),
		plugin.WithEnv("TMPDIR="+filepath.Join(root, "tmp"), "HOME="+filepath.Join(root, "home"), "XDG_STATE_HOME="+filepath.Join(root, "xdg"),
			"WADEEP_API_KEY="+key)) // in the plugin's environment too, where nothing should read it
	require.NoError(t, err)
	defer p.Close()
	watch := scan.Watch(root)

	var errText syncBuffer // every error the host got, in every verb and as its gRPC status
	note := func(what string, err error) {
		if err != nil {
			fmt.Fprintf(&errText, "%s: %v | %+v | %#v | %s\n", what, err, err, err, status.Convert(err).Proto())
		}
	}
	type sb struct {
		*emulator.Server
		url string
	}
	sandbox := func(t *testing.T, wrap func(http.Handler) http.Handler, opts ...emulator.Option) sb {
		s := emulator.New(append([]emulator.Option{emulator.WithAPIKey(key), emulator.WithSpeed(math.Inf(1)),
			emulator.WithStartDelay(0), emulator.WithExportDelay(0), emulator.WithSeed(9)}, opts...)...)
		var h http.Handler = s
		if wrap != nil {
			h = wrap(s)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return sb{s, srv.URL}
	}
	config := func(t *testing.T, s sb) plugin.Config {
		return plugin.Config{APIURL: s.url, APIKey: key, UserID: "u1", Column: "phone",
			StateDir:  filepath.Join(root, "state", strings.ReplaceAll(t.Name(), "/", "-")),
			PollFloor: 10 * time.Millisecond, ExportMin: -1, Parallel: 2, ChunkSize: 20}
	}
	write := func(ctx context.Context, cfg plugin.Config) (*plugin.WriteResult, error) {
		in := plugintest.Numbers(50, "n")
		defer in.Release()
		return p.Write(ctx, cfg, in)
	}
	read := func(ctx context.Context, cfg plugin.Config) ([]string, error) {
		r, err := p.Read(ctx, cfg)
		if err != nil {
			return nil, err
		}
		defer r.Release()
		var rows []string
		for r.Next() {
			rows = append(rows, plugintest.RowsOf(r.RecordBatch())...)
		}
		return rows, r.Err()
	}
	within := func(d time.Duration) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		t.Cleanup(cancel)
		return ctx
	}
	ctx := context.Background()

	t.Run("calls", func(t *testing.T) {
		t.Run("ok", func(t *testing.T) {
			t.Parallel()
			cfg := config(t, sandbox(t, nil))
			_, err := p.Info(ctx)
			require.NoError(t, err)
			require.NoError(t, p.Validate(ctx, cfg))
			_, err = p.Discover(ctx, cfg)
			require.NoError(t, err)
			res, err := write(ctx, cfg)
			require.NoError(t, err)
			res.Release()
			rows, err := read(ctx, cfg)
			require.NoError(t, err)
			require.Len(t, rows, res.Numbers)
			cfg.Enrich = true
			rows, err = read(ctx, cfg)
			require.NoError(t, err)
			require.Len(t, rows, 50)
		})
		t.Run("401", func(t *testing.T) {
			t.Parallel()
			cfg := config(t, sandbox(t, nil, emulator.WithAPIKey("the-sandbox-takes-another-key")))
			require.NoError(t, p.Validate(ctx, cfg), "Validate calls nothing")
			_, err := write(ctx, cfg)
			require.ErrorContains(t, err, "401 Unauthorized")
			require.Equal(t, codes.Unauthenticated, status.Code(err))
			note("write", err)
			_, err = read(ctx, cfg)
			require.Error(t, err)
			note("read", err)
		})
		t.Run("lasting 500s", func(t *testing.T) {
			t.Parallel()
			s := sandbox(t, nil, emulator.WithFault500(1))
			_, err := write(within(700*time.Millisecond), config(t, s))
			require.ErrorIs(t, err, context.DeadlineExceeded)
			note("write", err)
			require.Positive(t, s.Stats().Errors[500])
		})
		t.Run("lasting 500s on status", func(t *testing.T) {
			t.Parallel()
			s := sandbox(t, nil, emulator.WithFault500(1, emulator.OnStatus))
			cfg := config(t, s)
			res, err := write(ctx, cfg)
			require.NoError(t, err)
			res.Release()
			_, err = read(within(700*time.Millisecond), cfg)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			note("read", err)
		})
		t.Run("cut downloads, 429 and transient 500s", func(t *testing.T) {
			t.Parallel()
			s := sandbox(t, nil, emulator.WithCutDownloads(1),
				emulator.WithFault(emulator.Fault{Kind: emulator.Fault500, First: 2}),
				emulator.WithFault(emulator.Fault{Kind: emulator.Fault429, On: emulator.OnStatus, First: 1, Delay: time.Millisecond}))
			cfg := config(t, s)
			res, err := write(ctx, cfg)
			require.NoError(t, err)
			res.Release()
			rows, err := read(ctx, cfg)
			require.NoError(t, err)
			require.Len(t, rows, res.Numbers)
			st := s.Stats()
			require.Equal(t, res.Tasks, st.CutDownloads, "each task's result cut once")
			require.Equal(t, 1, st.Errors[429])
		})
		t.Run("an upstream that echoes the key", func(t *testing.T) {
			t.Parallel()
			for _, code := range []int{401, 400} {
				cfg := config(t, sandbox(t, echoKey(code, code == 401)))
				cfg.StateDir += fmt.Sprint(code)
				_, err := write(ctx, cfg)
				require.ErrorContains(t, err, "X-API-Key")
				require.ErrorContains(t, err, "***", "the key's place in the upstream's words")
				note("write", err)
			}
		})
		t.Run("bad configs", func(t *testing.T) {
			t.Parallel()
			cfg := config(t, sandbox(t, nil))
			u, _ := url.Parse(cfg.APIURL)
			u.User = url.UserPassword("user", key)
			for _, bad := range []string{u.String(), "ftp://example.com/?key=" + key, "http://[" + key} {
				c := cfg
				c.APIURL = bad
				err := p.Validate(ctx, c)
				var ce *plugin.ConfigError
				require.ErrorAs(t, err, &ce, "api_url %s", scan.Mask([]byte(bad)))
				note("validate", err)
				_, err = write(ctx, c)
				require.ErrorAs(t, err, &ce)
				note("write", err)
				_, err = read(ctx, c)
				require.ErrorAs(t, err, &ce)
				note("read", err)
			}
			c := cfg
			c.StateDir = "relative"
			note("validate", p.Validate(ctx, c))
			// A key in the API URL's query string: the URL is taken without
			// it, and logged without it.
			c = cfg
			c.APIURL += "/wa/api/deep?api_key=" + url.QueryEscape(key)
			res, err := write(ctx, c)
			require.NoError(t, err)
			res.Release()
			rows, err := read(ctx, c)
			require.NoError(t, err)
			require.Len(t, rows, res.Numbers)
		})
	})
	found, seen, rounds := watch.Stop()
	after, files, err := scan.Tree(nil, root)
	require.NoError(t, err)
	found = append(found, after...)
	t.Logf("%d files left, read after the calls; %d read while they ran, in %d rounds; %d bytes of messages received, %d log bytes",
		files, len(seen), rounds, tp.buf.Len(), len(logs.String()))
	for what, b := range map[string]string{"the messages the host received": tp.buf.String(), "the plugin's and go-plugin's logs": logs.String(), "the errors the host got": errText.String()} {
		if f := scan.Check(what, []byte(b)); f != nil {
			found = append(found, *f)
		}
	}
	for _, f := range found {
		t.Errorf("the API key was written: %s", f)
	}
	// The logs are the plugin's own, at trace level, with the upstream's
	// refusals in them.
	require.Contains(t, logs.String(), `"write done"`)
	require.Contains(t, logs.String(), "401 Unauthorized")
	require.Contains(t, errText.String(), "X-API-Key: ***")
}

// TestSecretConfigPrinted prints a Config every way a host might log it.
func TestSecretConfigPrinted(t *testing.T) {
	key := secrettest.NewKey()
	scan := secrettest.New(key)
	cfg := plugin.Config{APIURL: "https://api.example.com", APIKey: key, UserID: "u1", StateDir: "/var/lib/wadeep/job1"}
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
		for _, v := range []any{cfg, &cfg, []plugin.Config{cfg}, struct{ C plugin.Config }{cfg}, map[string]plugin.Config{"job": cfg}} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
	}
	fmt.Fprintln(&out, cfg)
	fmt.Fprint(&out, cfg, "\n")
	fmt.Fprintln(&out, cfg.String(), cfg.GoString())
	fmt.Fprintln(&out, errors.New(fmt.Sprint("bad config: ", cfg)))
	for _, h := range []slog.Handler{slog.NewJSONHandler(&out, nil), slog.NewTextHandler(&out, nil)} {
		slog.New(h).Info("job", "config", cfg, "ptr", &cfg)
		slog.New(h).Info("job", slog.Any("config", cfg), slog.Group("g", "config", cfg))
	}
	hclog.New(&hclog.LoggerOptions{Output: &out}).Info("job", "config", cfg, "ptr", &cfg)
	if f := scan.Check("a Config printed", out.Bytes()); f != nil {
		t.Errorf("the API key was printed: %s", f)
	}
	require.Contains(t, out.String(), "/var/lib/wadeep/job1", "the rest of the config is printed")
	require.Contains(t, out.String(), "[redacted]")
}

// echoKey answers every call with code and a body that repeats the
// X-API-Key header and the request line, as a careless upstream's error
// page does; the HTML page puts the key across character 200, where an
// upstream message is cut short.
func echoKey(code int, asJSON bool) func(http.Handler) http.Handler {
	return func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get("X-API-Key")
			if asJSON {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(code)
				fmt.Fprintf(w, `{"error":true,"message":%q}`, fmt.Sprintf("refused X-API-Key %s for %s %s", key, r.Method, r.URL))
				return
			}
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(code)
			page := fmt.Sprintf("<html><body><h1>Error %d</h1>\n<pre>", code)
			page += strings.Repeat("request headers follow ", 6)
			fmt.Fprintf(w, "%s\nX-API-Key: %s\n%s %s</pre></body></html>", page, key, r.Method, r.URL)
		})
	}
}
