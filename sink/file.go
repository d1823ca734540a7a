package sink

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
)

var errAborted = errors.New("sink: writer aborted")

// File is a Writer to a path that appears only when Close succeeds: batches
// go to a hidden temporary file in the same directory, which Close renames
// over path. A failed or abandoned run never leaves a half-written file that
// looks complete. It is not safe for concurrent use.
//
// The file is created with mode 0600, because its rows are personal data;
// change the mode after Close to share it.
type File struct {
	path string
	tmp  *os.File
	s    *Stream
	done bool
	err  error
}

var _ Writer = (*File)(nil)

// Create returns a File writing schema to path, in the format named by the
// path's extension (see FormatFromPath). The schema is checked as by New
// before anything is created on disk. Call Close to commit the file, or
// Abort to discard it; until then a temporary file exists next to path.
func Create(path string, schema *arrow.Schema, opts ...Option) (*File, error) {
	format, err := FormatFromPath(path)
	if err != nil {
		return nil, err
	}
	if _, err := columnsOf(schema); err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	dir := filepath.Dir(path)
	cfg.tempDir = dir // spill next to the output: the disk the user chose for it
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("sink: create %s: %w", path, err)
	}
	s, err := newStream(tmp, format, schema, cfg)
	if err != nil {
		return nil, errors.Join(err, tmp.Close(), os.Remove(tmp.Name()))
	}
	return &File{path: path, tmp: tmp, s: s}, nil
}

// Write writes rec; see Writer.
func (f *File) Write(rec arrow.RecordBatch) error {
	if f.done {
		if f.err != nil {
			return f.err
		}
		return errClosed
	}
	return f.s.Write(rec)
}

// Close finishes the output, syncs it and renames it to the path given to
// Create. If any Write failed, or finishing fails, the temporary file is
// removed and the first error is returned, joined with any cleanup errors.
// Later calls return the same result.
func (f *File) Close() error {
	if f.done {
		return f.err
	}
	f.done = true
	err := f.s.Close()
	if err == nil {
		// Sync before rename, so a crash cannot leave a renamed but empty file.
		if serr := f.tmp.Sync(); serr != nil {
			err = fmt.Errorf("sink: sync %s: %w", f.path, serr)
		}
	}
	var cleanup []error
	if cerr := f.tmp.Close(); cerr != nil {
		if err == nil {
			err = fmt.Errorf("sink: close %s: %w", f.path, cerr)
		} else {
			cleanup = append(cleanup, cerr)
		}
	}
	if err == nil {
		rerr := os.Rename(f.tmp.Name(), f.path)
		if rerr == nil {
			return nil
		}
		err = fmt.Errorf("sink: %w", rerr)
	}
	if rerr := os.Remove(f.tmp.Name()); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		cleanup = append(cleanup, rerr)
	}
	f.err = errors.Join(append([]error{err}, cleanup...)...)
	return f.err
}

// Abort discards the output: the temporary file is removed and nothing
// appears at the path. After a successful Close it does nothing, so
// `defer f.Abort()` right after Create is a safe way to clean up on every
// error path. It returns cleanup errors only.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	f.err = errAborted
	var errs []error
	errs = append(errs, f.s.Abort(), f.tmp.Close())
	if rerr := os.Remove(f.tmp.Name()); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		errs = append(errs, rerr)
	}
	return errors.Join(errs...)
}
