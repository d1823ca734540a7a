package privacy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
)

// MinKeyLen is the shortest pseudonymisation key accepted, in bytes: the
// size of HMAC-SHA-256's output, below which the key is the weak part.
const MinKeyLen = 32

// maxKeyFile bounds what LoadKey reads: a key file is small, and a path
// given by mistake (a big file, a device) must not be read whole.
const maxKeyFile = 64 << 10

// LoadKey reads a pseudonymisation key from path: the file's bytes, one
// trailing newline (\n or \r\n) trimmed. It refuses a key shorter than
// MinKeyLen bytes and, where file modes mean something (not Windows), a
// file that its group or others can read or write: whoever holds the key
// can tell which pseudonym is which number.
func LoadKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		// Not the path: a key given where its file's path was meant would
		// be echoed.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("privacy: key file cannot be opened: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("privacy: key file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("privacy: key file %s: not a regular file", path)
	}
	if perm := st.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("privacy: key file %s: mode %04o lets others read it; make it private (chmod 600 %s)", path, perm, path)
	}
	key, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("privacy: key file %s: %w", path, err)
	}
	if len(key) > maxKeyFile {
		return nil, fmt.Errorf("privacy: key file %s: larger than %d KiB: is it the right file?", path, maxKeyFile>>10)
	}
	key = bytes.TrimSuffix(key, []byte("\n"))
	key = bytes.TrimSuffix(key, []byte("\r"))
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("privacy: key file %s: %d bytes, want at least %d (e.g. head -c 32 /dev/urandom | base64 > %s)", path, len(key), MinKeyLen, path)
	}
	return key, nil
}
