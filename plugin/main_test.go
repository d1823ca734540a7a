package plugin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

// WadeepBinary builds the wadeep command once per test binary: the plugin
// the process tests start.
func WadeepBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "wadeep-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "wadeep")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/wadeep/wadeep/cmd/wadeep").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
