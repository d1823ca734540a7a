package plugintest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/emulator"
	"github.com/wadeep/wadeep/plugin"
)

// Key is the API key the suite's sandbox takes; no message from the
// connector may carry it.
const Key = "sandbox-key-7f3a9c1e5b"

// Target is the implementation under test.
type Target struct {
	// Open returns a fresh connector; the suite closes it.
	Open func(t *testing.T) plugin.Connector
	// Binary is the plugin binary (the wadeep command). When set, the
	// process tests run too, starting it with plugin.Open.
	Binary string
}

// HostEnv is set in the host process HostKilled starts: the test binary
// itself, run again on the same top-level test, which must reach Run
// without other work (a test that builds its plugin binary skips that when
// HostEnv is set).
const HostEnv = "WADEEP_PLUGINTEST_HOST"

// Run runs the conformance suite against target.
func Run(t *testing.T, target Target) {
	if bin := os.Getenv(HostEnv); bin != "" {
		runHost(bin) // the host process of HostKilled; never returns
	}
	t.Run("Info", func(t *testing.T) { testInfo(t, target) })
	t.Run("BadConfig", func(t *testing.T) { testBadConfig(t, target) })
	t.Run("Discover", func(t *testing.T) { testDiscover(t, target) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, target) })
	t.Run("Checkpoint", func(t *testing.T) { testCheckpoint(t, target) })
	t.Run("CancelMidPoll", func(t *testing.T) { testCancel(t, target) })
	t.Run("LargeBatch", func(t *testing.T) { testLargeBatch(t, target) })
	t.Run("Privacy", func(t *testing.T) { testPrivacy(t, target) })
	if target.Binary != "" {
		t.Run("PluginCrash", func(t *testing.T) { testCrash(t, target) })
		t.Run("HostKilled", func(t *testing.T) { testHostKilled(t, target) })
	}
}

// Sandbox is an instant (or, with speed, a slower) sandbox over loopback.
type Sandbox struct {
	*emulator.Server
	URL string
}

// NewSandbox serves the offline sandbox for the test; speed is numbers per
// second (+Inf: instant).
func NewSandbox(t testing.TB, speed float64) *Sandbox {
	s := emulator.New(emulator.WithAPIKey(Key), emulator.WithSpeed(speed), emulator.WithStartDelay(0), emulator.WithExportDelay(0))
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &Sandbox{Server: s, URL: srv.URL}
}

// Charged is the sandbox's count of charged calls.
func (s *Sandbox) Charged() int { return s.Stats().Charged }

// Config is a config for the sandbox with a fresh state directory.
func (s *Sandbox) Config(t testing.TB) plugin.Config {
	return plugin.Config{APIURL: s.URL, APIKey: Key, UserID: "plugintest", Column: "phone", StateDir: filepath.Join(t.TempDir(), "state"),
		PollFloor: 10 * time.Millisecond, ExportMin: -1, Parallel: 4}
}

func open(t *testing.T, target Target) plugin.Connector {
	c := target.Open(t)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// Numbers is a table (phone, note) of n rows: valid French mobiles with,
// every tenth row, a duplicate, an invalid value or a blank.
func Numbers(n int, note string) array.RecordReader {
	schema := arrow.NewSchema([]arrow.Field{{Name: "phone", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "note", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	ph, no := b.Field(0).(*array.StringBuilder), b.Field(1).(*array.StringBuilder)
	for i := 0; i < n; i++ {
		switch {
		case i%10 == 3 && i > 0:
			ph.Append(fmt.Sprintf("+336%08d", 10000000+i-1)) // a duplicate of the row before
		case i%10 == 6:
			ph.Append("not a number " + strconv.Itoa(i))
		case i%10 == 9:
			ph.AppendNull()
		default:
			ph.Append(fmt.Sprintf("+336%08d", 10000000+i))
		}
		no.Append(note + strconv.Itoa(i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	r, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	return r
}

// Rows are a stream's rows as text, one string a row, column by column;
// drop names columns left out.
func Rows(t testing.TB, r array.RecordReader, drop ...string) []string {
	var rows []string
	for r.Next() {
		rows = append(rows, RowsOf(r.RecordBatch(), drop...)...)
	}
	require.NoError(t, r.Err())
	return rows
}

// RowsOf is Rows of one batch.
func RowsOf(rec arrow.RecordBatch, drop ...string) []string {
	var rows []string
	for i := 0; i < int(rec.NumRows()); i++ {
		var cells []string
		for j, f := range rec.Schema().Fields() {
			if slices.Contains(drop, f.Name) {
				continue
			}
			cells = append(cells, f.Name+"="+rec.Column(j).ValueStr(i))
		}
		rows = append(rows, strings.Join(cells, " "))
	}
	return rows
}

// reference runs the same input through the library (the CLI's engine) in
// another state directory and returns its profile rows and rejects.
func reference(t *testing.T, sb *Sandbox, cfg plugin.Config, in array.RecordReader) (profiles, rejects []string) {
	defer in.Release()
	plan, err := connector.NewPlan([]connector.Input{{Name: plugin.InputName, Records: in, Column: cfg.Column}}, connector.PlanOptions{Region: cfg.Region, ChunkSize: cfg.ChunkSize})
	require.NoError(t, err)
	client, err := connector.NewClient(sb.URL, Key, cfg.UserID)
	require.NoError(t, err)
	j, err := connector.OpenJournal(filepath.Join(t.TempDir(), "ref"), plan, client)
	require.NoError(t, err)
	defer j.Close()
	job := &connector.Job{Client: client, Plan: plan, Journal: j, Poll: connector.PollPolicy{Floor: 10 * time.Millisecond, ExportMin: -1},
		Out: func(rec arrow.RecordBatch) error {
			profiles = append(profiles, RowsOf(rec, "task_id", "checked_at")...)
			return nil
		}}
	_, err = job.Run(context.Background())
	require.NoError(t, err)
	rr := plan.RejectRecords(nil)
	defer rr.Release()
	return profiles, Rows(t, rr)
}

func testInfo(t *testing.T, target Target) {
	c := open(t, target)
	info, err := c.Info(context.Background())
	require.NoError(t, err)
	require.Equal(t, plugin.ProtocolVersion, info.Protocol)
	require.NotEmpty(t, info.Version)
	require.Contains(t, info.Capabilities, "read")
	require.Contains(t, info.Capabilities, "checkpoint")
	require.Contains(t, string(info.ConfigSchema), `"state_dir"`)
}

func testBadConfig(t *testing.T, target Target) {
	c := open(t, target)
	ctx := context.Background()
	bad := plugin.Config{APIURL: "ftp://example.com", Region: "XX", StateDir: "relative/dir", ChunkSize: -1, Parallel: -2, PassThrough: []string{"skin_color"}} // skin_color: a column wadeep never carries
	err := c.Validate(ctx, bad)
	var ce *plugin.ConfigError
	require.ErrorAs(t, err, &ce)
	var fields []string
	for _, f := range ce.Fields {
		fields = append(fields, f.Field)
	}
	require.Equal(t, []string{"api_url", "api_key", "user_id", "region", "state_dir", "chunk_size", "parallel", "pass_through"}, fields)
	// Write and Read refuse it the same way, before anything is called.
	_, err = c.Write(ctx, bad, Numbers(3, ""))
	require.ErrorAs(t, err, &ce)
	require.Len(t, ce.Fields, 8)
	_, err = c.Read(ctx, bad)
	require.ErrorAs(t, err, &ce)
	sb := NewSandbox(t, math.Inf(1))
	require.NoError(t, c.Validate(ctx, sb.Config(t)))
	// A Read of a state directory no Write filled says so.
	_, err = c.Read(ctx, sb.Config(t))
	require.ErrorContains(t, err, "no job in the state directory")
	require.Zero(t, sb.Charged())
}

func testDiscover(t *testing.T, target Target) {
	c := open(t, target)
	sb := NewSandbox(t, math.Inf(1))
	s, err := c.Discover(context.Background(), sb.Config(t))
	require.NoError(t, err)
	require.True(t, s.Profiles.Equal(arrowconv.Schema()), "profiles: %s", s.Profiles)
	require.Equal(t, "phone", s.Input.Field(0).Name)
	require.True(t, s.Enriched.HasField("input_row"))
	require.True(t, s.Enriched.HasField("whatsapp"))
	for _, sc := range []*arrow.Schema{s.Input, s.Profiles, s.Enriched} {
		require.False(t, sc.HasField("skin_color")) // never carried
	}
}

func testRoundTrip(t *testing.T, target Target) {
	c := open(t, target)
	ctx := context.Background()
	sb := NewSandbox(t, math.Inf(1))
	cfg := sb.Config(t)
	cfg.ChunkSize = 40
	in := Numbers(200, "n")
	defer in.Release()
	res, err := c.Write(ctx, cfg, in)
	require.NoError(t, err)
	defer res.Release()
	wantProfiles, wantRejects := reference(t, sb, cfg, Numbers(200, "n"))
	require.Equal(t, 200, res.Rows)
	require.Equal(t, res.Rows, res.Numbers+res.Rejected+res.Blank)
	require.Equal(t, len(wantProfiles), res.Numbers)
	require.Equal(t, len(wantRejects), res.Rejected)
	require.Equal(t, res.Tasks, res.Created)
	require.Equal(t, wantRejects, Rows(t, res.Rejects))

	before := sb.Stats()
	r, err := c.Read(ctx, cfg)
	require.NoError(t, err)
	require.True(t, r.Schema().Equal(arrowconv.Schema()))
	got := Rows(t, r, "task_id", "checked_at")
	p := r.Progress()
	r.Release()
	require.Equal(t, wantProfiles, got)
	require.Equal(t, before.Creates, sb.Stats().Creates, "Read creates no task")
	require.Equal(t, res.Numbers, p.Total)
	require.Equal(t, res.Tasks, p.TasksDone)

	// A second Read of the finished job is free and gives the same rows.
	charged := sb.Charged()
	r, err = c.Read(ctx, cfg)
	require.NoError(t, err)
	require.Equal(t, wantProfiles, Rows(t, r, "task_id", "checked_at"))
	r.Release()
	require.Equal(t, charged, sb.Charged(), "a second Read makes no charged call")

	// Writing the same table again creates nothing.
	again := Numbers(200, "n")
	defer again.Release()
	res2, err := c.Write(ctx, cfg, again)
	require.NoError(t, err)
	res2.Release()
	require.Zero(t, res2.Created)
	require.Equal(t, res.Tasks, res2.Resumed)
	require.Equal(t, charged, sb.Charged())

	// The enriched view: one row per input row.
	cfg.Enrich = true
	r, err = c.Read(ctx, cfg)
	require.NoError(t, err)
	rows := Rows(t, r)
	r.Release()
	require.Len(t, rows, 200)
	require.Contains(t, rows[0], "note=n0")
	require.Equal(t, charged, sb.Charged())
}

func testCheckpoint(t *testing.T, target Target) {
	c := open(t, target)
	ctx := context.Background()
	sb := NewSandbox(t, math.Inf(1))
	cfg := sb.Config(t)
	cfg.ChunkSize = 30
	in := Numbers(150, "")
	defer in.Release()
	res, err := c.Write(ctx, cfg, in)
	require.NoError(t, err)
	res.Release()
	r, err := c.Read(ctx, cfg)
	require.NoError(t, err)
	all := Rows(t, r)
	r.Release()
	require.Len(t, all, res.Numbers)

	// Stop after the second batch; resume from its checkpoint.
	r, err = c.Read(ctx, cfg)
	require.NoError(t, err)
	var head []string
	for i := 0; i < 2; i++ {
		require.True(t, r.Next(), "batch %d: %v", i, r.Err())
		head = append(head, RowsOf(r.RecordBatch())...)
	}
	cp := r.Checkpoint()
	r.Release()
	require.NotEmpty(t, cp)
	r, err = c.Read(ctx, cfg, plugin.FromCheckpoint(cp))
	require.NoError(t, err)
	tail := Rows(t, r)
	r.Release()
	require.Equal(t, all, append(head, tail...), "no row twice, none lost")

	// A checkpoint of another stream is refused.
	cfg.Enrich = true
	_, err = c.Read(ctx, cfg, plugin.FromCheckpoint(cp))
	require.ErrorContains(t, err, "checkpoint")
	_, err = c.Read(ctx, cfg, plugin.FromCheckpoint(plugin.Checkpoint("garbage")))
	require.ErrorContains(t, err, "not a wadeep checkpoint")
}

func testCancel(t *testing.T, target Target) {
	c := open(t, target)
	sb := NewSandbox(t, 30) // 30 numbers a second: the tasks take a few seconds
	cfg := sb.Config(t)
	cfg.PollFloor = 50 * time.Millisecond
	in := Numbers(100, "")
	defer in.Release()
	res, err := c.Write(context.Background(), cfg, in)
	require.NoError(t, err)
	res.Release()
	ctx, cancel := context.WithCancel(context.Background())
	r, err := c.Read(ctx, cfg)
	require.NoError(t, err)
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	for r.Next() {
	}
	require.ErrorIs(t, r.Err(), context.Canceled)
	require.Less(t, time.Since(start), 5*time.Second)
	r.Release()
	// The journal is intact: the next Read finishes the job without
	// creating anything again.
	creates := sb.Stats().Creates
	r, err = c.Read(context.Background(), cfg)
	require.NoError(t, err)
	require.Len(t, Rows(t, r), res.Numbers)
	r.Release()
	require.Equal(t, creates, sb.Stats().Creates)
}

func testLargeBatch(t *testing.T, target Target) {
	if testing.Short() {
		t.Skip("short")
	}
	c := open(t, target)
	ctx := context.Background()
	sb := NewSandbox(t, math.Inf(1))
	cfg := sb.Config(t)
	// One input batch of more than 8 MiB: 60,000 rows with a 140-byte note.
	n := 60000
	in := Numbers(n, strings.Repeat("x", 140))
	defer in.Release()
	res, err := c.Write(ctx, cfg, in)
	require.NoError(t, err)
	res.Release()
	require.Equal(t, n, res.Rows)
	// The enriched view carries the notes back: batches of 64k rows, over
	// 8 MiB each, split on the wire.
	cfg.Enrich = true
	r, err := c.Read(ctx, cfg)
	require.NoError(t, err)
	defer r.Release()
	rows, notes := 0, 0
	for r.Next() {
		rec := r.RecordBatch()
		rows += int(rec.NumRows())
		col := rec.Column(rec.Schema().FieldIndices("note")[0]).(*array.String)
		for i := 0; i < col.Len(); i++ {
			if len(col.Value(i)) > 140 {
				notes++
			}
		}
	}
	require.NoError(t, r.Err())
	require.Equal(t, n, rows)
	require.Equal(t, n, notes)
}

func testCrash(t *testing.T, target Target) {
	p, err := plugin.Open(context.Background(), target.Binary)
	require.NoError(t, err)
	defer p.Close()
	sb := NewSandbox(t, 20)
	cfg := sb.Config(t)
	in := Numbers(100, "")
	defer in.Release()
	res, err := p.Write(context.Background(), cfg, in)
	require.NoError(t, err)
	res.Release()
	r, err := p.Read(context.Background(), cfg)
	require.NoError(t, err)
	defer r.Release()
	time.AfterFunc(200*time.Millisecond, func() { kill(p.Pid()) })
	start := time.Now()
	for r.Next() {
	}
	require.ErrorIs(t, r.Err(), plugin.ErrExited)
	require.Less(t, time.Since(start), 5*time.Second)
	_, err = p.Info(context.Background())
	require.ErrorIs(t, err, plugin.ErrExited)
}

// runHost is the host process of HostKilled: it starts the plugin, says
// its pid and socket directory, and waits to be killed.
func runHost(bin string) {
	p, err := plugin.Open(context.Background(), bin)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "wadeep-plugin-*"))
	var mine []string
	for _, d := range dirs {
		if entries, _ := os.ReadDir(d); len(entries) > 0 {
			mine = append(mine, d)
		}
	}
	fmt.Println("plugin", p.Pid(), strings.Join(mine, ","))
	select {}
}

// alive reports whether pid is a live process (a zombie is not).
func alive(pid int) bool {
	if runtime.GOOS == "linux" {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return false
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		return len(f) > 0 && f[0] != "Z" && f[0] != "X"
	}
	p, err := os.FindProcess(pid)
	return err == nil && p.Signal(syscall.Signal(0)) == nil
}

// kill sends SIGKILL (on Windows, TerminateProcess) to pid.
func kill(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

func testHostKilled(t *testing.T, target Target) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL")
	}
	top := strings.SplitN(t.Name(), "/", 2)[0]
	tmp := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^"+top+"$")
	cmd.Env = append(os.Environ(), HostEnv+"="+target.Binary, "TMPDIR="+tmp)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "host said %q", line)
	f := strings.Fields(line)
	require.Len(t, f, 3, "host said %q", line)
	pid, err := strconv.Atoi(f[1])
	require.NoError(t, err)
	sockDir := f[2]
	require.True(t, alive(pid))
	entries, _ := os.ReadDir(sockDir)
	require.NotEmpty(t, entries, "the plugin's socket is in %s", sockDir)
	t.Cleanup(func() { kill(pid) })

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	require.False(t, alive(pid), "the plugin outlived its host")
	for time.Now().Before(deadline) {
		if _, err := os.Stat(sockDir); errors.Is(err, os.ErrNotExist) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, err = os.Stat(sockDir)
	require.ErrorIs(t, err, os.ErrNotExist, "the socket directory is left")
	left, _ := filepath.Glob(filepath.Join(tmp, "plugin*"))
	require.Empty(t, left, "no socket in the temp dir")
}
