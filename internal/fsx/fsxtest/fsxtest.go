// Package fsxtest holds file-system helpers for tests.
package fsxtest

import (
	"os"
	"runtime"
	"testing"
)

// ReadOnlyDir is an existing directory where no file can be created: a
// chmod 0500 directory, or for root (whom permission bits do not stop) a
// directory of a kernel file system that refuses new files.
func ReadOnlyDir(t testing.TB) string {
	t.Helper()
	if runtime.GOOS == "windows" || os.Geteuid() != 0 {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		return dir
	}
	for _, dir := range []string{"/sys/kernel", "/sys", "/proc/sys"} {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		f, err := os.CreateTemp(dir, ".wadeep-probe-*")
		if err == nil {
			f.Close()
			os.Remove(f.Name())
			continue
		}
		return dir
	}
	t.Fatal("no directory refuses file creation to root here")
	return ""
}
