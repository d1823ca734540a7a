package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKeyFileLimit: a key file is read up to 4 KiB: a longer file is
// refused, named by its flag and not by its path, and a path given by
// mistake (/dev/zero) is not read whole.
func TestKeyFileLimit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	key, err := firstKey(keySource{file: write("ok", "  sk-live-0123456789\r\n"), from: "--api-key-file"})
	require.NoError(t, err)
	require.Equal(t, "sk-live-0123456789", key)

	long := write("long", strings.Repeat("sk-live-0123456789", 300))
	_, err = firstKey(keySource{file: long, from: "--api-key-file"})
	require.EqualError(t, err, "--api-key-file: that file is longer than 4096 bytes, more than a key (its name is not repeated, in case it is the key itself)")

	if _, serr := os.Stat("/dev/zero"); serr == nil {
		_, err = firstKey(keySource{file: "/dev/zero", from: "WADEEP_API_KEY_FILE"})
		require.ErrorContains(t, err, "WADEEP_API_KEY_FILE: that file is longer than 4096 bytes")
	}
}
