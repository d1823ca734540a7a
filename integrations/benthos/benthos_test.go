package wadeepbenthos_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wadeep/wadeep/emulator"
)

const secretKey = "key-that-must-never-show"

var (
	binDir   string
	build    sync.Once
	bin      string
	buildErr error
)

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "benthos-wadeep-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// buildBinary builds cmd/benthos-wadeep once for the tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	build.Do(func() {
		bin = filepath.Join(binDir, "benthos-wadeep")
		out, err := exec.Command("go", "build", "-o", bin, "./cmd/benthos-wadeep").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs the binary on config.yaml with env; the process is killed when
// the test ends.
func start(t *testing.T, bin string, env []string, logs *lockedBuffer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "-c", "config.yaml")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	return cmd
}

// TestLint checks the example config with the binary's own linter.
func TestLint(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the benthos-wadeep binary (~80 s cold)")
	}
	bin := buildBinary(t)
	cmd := exec.Command(bin, "lint", "config.yaml")
	cmd.Env = append(os.Environ(), "WADEEP_API_KEY="+secretKey)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lint config.yaml: %v\n%s", err, out)
	}
}

// TestKillAndRestartPaysOnce runs the real binary on the example config
// against a slow sandbox, kills it with SIGKILL while its tasks are in
// flight, and runs it again on the same state_dir: the redelivered batch
// resumes its tasks (no new creation) and every message comes out enriched.
func TestKillAndRestartPaysOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the benthos-wadeep binary (~80 s cold) and kills it mid-task")
	}
	bin := buildBinary(t)
	sandbox := emulator.New(emulator.WithAPIKey(secretKey), emulator.WithSpeed(50),
		emulator.WithStartDelay(2*time.Second), emulator.WithExportDelay(0))
	srv := httptest.NewServer(sandbox)
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	in, out, state := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "state")
	var lines []string
	want := map[int]string{} // line → the number it must be enriched with
	for i := 0; i < 200; i++ {
		n := fmt.Sprintf("+4179%07d", 1000000+i)
		want[i] = n
		lines = append(lines, fmt.Sprintf(`{"id":%d,"phone":%q}`, i, n))
	}
	lines = append(lines, `{"id":200,"phone":"not a number"}`, `{"id":201,"other":1}`, `{"id":202,"phone":"+41791000000"}`)
	want[202] = "+41791000000" // a repeat of line 0: the same profile
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"WADEEP_API_URL=" + srv.URL, "WADEEP_API_KEY=" + secretKey, "WADEEP_USER_ID=me",
		"WADEEP_INPUT=" + in, "WADEEP_OUTPUT=" + out, "WADEEP_STATE=" + state,
		"WADEEP_CHUNK_SIZE=100", "WADEEP_BATCH_PERIOD=1s", "WADEEP_POLL_FLOOR=200ms", "WADEEP_EXPORT_MIN=-1s"}

	// First run: killed once both tasks exist and before either is done.
	var logs1 lockedBuffer
	first := start(t, bin, env, &logs1)
	deadline := time.Now().Add(20 * time.Second)
	for sandbox.Stats().Creates < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no tasks created in 20 s; logs:\n%s", logs1.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the journal records the task right after the answer
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, task := range sandbox.Tasks() {
		if task.Status == "exported" {
			t.Fatalf("task %s was exported before the kill: the test did not kill mid-task", task.TaskID)
		}
	}
	if b, _ := os.ReadFile(out); len(b) > 0 {
		t.Fatalf("output written before the kill:\n%s", b)
	}

	// Second run: the file input delivers the batch again.
	var logs2 lockedBuffer
	second := start(t, bin, env, &logs2)
	exited := make(chan error, 1)
	go func() { _, err := second.Process.Wait(); exited <- err }()
	select {
	case <-exited:
	case <-time.After(40 * time.Second):
		t.Fatalf("the second run did not end in 40 s; logs:\n%s", logs2.String())
	}

	st := sandbox.Stats()
	if st.Creates != 2 {
		t.Errorf("creates = %d, want 2 (one per chunk, none on the restart)", st.Creates)
	}
	if st.DuplicateUploads != 0 || st.DuplicateFiles != 0 {
		t.Errorf("duplicate uploads %d, files %d: want 0", st.DuplicateUploads, st.DuplicateFiles)
	}
	if !strings.Contains(logs2.String(), "resumed true") {
		t.Errorf("the second run did not resume a task; logs:\n%s", logs2.String())
	}
	for name, l := range map[string]string{"first": logs1.String(), "second": logs2.String()} {
		if strings.Contains(l, secretKey) {
			t.Errorf("the API key is in the %s run's logs", name)
		}
	}

	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	seen := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("output line %d: %v", seen+1, err)
		}
		id := int(m["id"].(float64))
		if id != seen {
			t.Fatalf("output line %d has id %d: out of order", seen+1, id)
		}
		if _, ok := m["skin_color"]; ok {
			t.Errorf("id %d carries skin_color", id)
		}
		switch {
		case want[id] != "":
			if m["number"] != want[id] || m["status"] == nil || m["task_id"] == nil || m["checked_at"] == nil {
				t.Errorf("id %d: not enriched with %s: %v", id, want[id], m)
			}
			if _, ok := m[RejectField]; ok {
				t.Errorf("id %d: checked but has reject_reason", id)
			}
		case id == 200:
			if m["reject_reason"] != "not a number" {
				t.Errorf("id 200: reject_reason %v, want not a number", m["reject_reason"])
			}
		case id == 201:
			if m["reject_reason"] != "empty" {
				t.Errorf("id 201: reject_reason %v, want empty", m["reject_reason"])
			}
		}
		seen++
	}
	if seen != len(lines) {
		t.Errorf("%d output lines, want %d", seen, len(lines))
	}
}

// RejectField mirrors wadeepbenthos.RejectField.
const RejectField = "reject_reason"
