package sink

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/wadeep/wadeep/internal/fsx"
)

var errAborted = errors.New("sink: writer aborted")

// tempPrefix starts the name of every temporary file a sink makes beside its
// output (the output itself until Close, Arrow spill files, CheckPath's
// probe), so that a later Create can sweep those a hard kill left behind.
const tempPrefix = ".wadeep-sink-"

// staleAge is how old a sink's temporary file must be before Create sweeps
// it. A live File refreshes its temporary file's modification time as it
// writes (see touchEvery), so only a writer that gets no batch for this long
// could lose its file; a day is far beyond the gap between two result files.
const staleAge = 24 * time.Hour

// touchEvery is how often a File refreshes its temporary file's
// modification time, at most, while batches arrive.
const touchEvery = time.Minute

// File is a Writer to a path that appears only when Close succeeds: batches
// go to a hidden temporary file in the same directory, which Close renames
// over path. A failed or abandoned run never leaves a half-written file that
// looks complete. It is not safe for concurrent use.
//
// The file is created with mode 0600, because its rows are personal data;
// change the mode after Close to share it.
type File struct {
	path    string
	tmp     *fsx.Temp
	s       *Stream
	touched time.Time
	done    bool
	err     error
}

var _ Writer = (*File)(nil)

// Create returns a File writing schema to path, in the format named by the
// path's extension (see FormatFromPath). The schema is checked as by New
// before anything is created on disk. Call Close to commit the file, or
// Abort to discard it; until then a temporary file exists next to path.
// Create first removes the temporary files that sinks killed a day or more
// ago left in path's directory.
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
	// Best effort: a leftover that cannot be removed only wastes space.
	fsx.SweepStale(dir, staleAge, tempPrefix)
	tmp, err := fsx.CreateTemp(dir, tempPrefix+filepath.Base(path)+"-", ".tmp")
	if err != nil {
		return nil, fmt.Errorf("sink: create %s: %w", path, err)
	}
	s, err := newStream(tmp, format, schema, cfg)
	if err != nil {
		return nil, errors.Join(err, tmp.Discard())
	}
	return &File{path: path, tmp: tmp, s: s, touched: time.Now()}, nil
}

// Write writes rec; see Writer.
func (f *File) Write(rec arrow.RecordBatch) error {
	if f == nil || f.s == nil {
		return errNotStarted
	}
	if f.done {
		if f.err != nil {
			return f.err
		}
		return errClosed
	}
	if now := time.Now(); now.Sub(f.touched) >= touchEvery {
		// Keep the temp file fresh for other processes' sweeps, whether or
		// not the encoder has flushed anything to it yet.
		f.touched = now
		os.Chtimes(f.tmp.Name(), now, now)
	}
	return f.s.Write(rec)
}

var errNotStarted = errors.New("sink: writer was never created")

// Close finishes the output, syncs it and renames it to the path given to
// Create. If any Write failed, or finishing fails, the temporary file is
// removed and the first error is returned, joined with any cleanup errors.
// Later calls return the same result. On a File that Create did not return
// (nil, or the zero value) it returns an error and does nothing.
func (f *File) Close() error {
	if f == nil || f.s == nil {
		return errNotStarted
	}
	if f.done {
		return f.err
	}
	f.done = true
	if err := f.s.Close(); err != nil {
		f.err = errors.Join(err, f.tmp.Discard())
		return f.err
	}
	if err := f.tmp.Commit(f.path); err != nil {
		f.err = fmt.Errorf("sink: %s: %w", f.path, err)
	}
	return f.err
}

// Abort discards the output: the temporary file is removed and nothing
// appears at the path. After a successful Close it does nothing, so
// `defer f.Abort()` right after Create is a safe way to clean up on every
// error path; so it does on a nil File (a failed Create's). It returns
// cleanup errors only.
func (f *File) Abort() error {
	if f == nil || f.s == nil || f.done {
		return nil
	}
	f.done = true
	f.err = errAborted
	return errors.Join(f.s.Abort(), f.tmp.Discard())
}

// CheckPath checks, without leaving anything behind, that Create could
// write path: its extension names a format, its directory exists and is a
// directory, path is not itself a directory, and a file can be created in
// the directory (a temporary one is, and removed). Call it before work that
// is costly to repeat, so that a bad output path fails first. The error
// names path and what is wrong; it wraps ErrUnknownFormat, fs.ErrNotExist or
// the cause from the file system.
func CheckPath(path string) error {
	if _, err := FormatFromPath(path); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &pathError{fmt.Sprintf("sink: %s: directory %s does not exist", path, dir), err}
	case err != nil:
		return fmt.Errorf("sink: %s: directory %s: %w", path, dir, cause(err))
	case !st.IsDir():
		return fmt.Errorf("sink: %s: %s is not a directory", path, dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("sink: %s: is a directory", path)
	}
	tmp, err := fsx.CreateTemp(dir, tempPrefix+"check-", "")
	if err != nil {
		return fmt.Errorf("sink: %s: cannot create files in directory %s: %w", path, dir, cause(err))
	}
	if err := tmp.Discard(); err != nil {
		return fmt.Errorf("sink: %s: cannot remove files in directory %s: %w", path, dir, cause(err))
	}
	return nil
}

// pathError is a message that says all, over the error it wraps.
type pathError struct {
	msg string
	err error
}

func (e *pathError) Error() string { return e.msg }
func (e *pathError) Unwrap() error { return e.err }

// cause is a file system error without the path it names: the messages
// above name the paths already.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
