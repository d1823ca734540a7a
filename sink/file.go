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

// TempPrefix starts the name of the private temporary directory a File
// makes beside its output (see Create), and of those a Stream makes for
// its spill files, so that a later Create, or a journal's sweep, can remove
// those a hard kill left behind. Earlier versions named loose temporary
// files so; they are swept too.
const TempPrefix = ".wadeep-sink-"

const tempPrefix = TempPrefix

// staleAge is how old a sink's temporary file must be before Create sweeps
// it. A live File refreshes its temporary file's modification time as it
// writes (see touchEvery), so only a writer that gets no batch for this long
// could lose its file; a day is far beyond the gap between two result files.
const staleAge = 24 * time.Hour

// touchEvery is how often a File refreshes its temporary file's
// modification time, at most, while batches arrive.
const touchEvery = time.Minute

// File is a Writer to a path that appears only when Close succeeds: batches
// go to a temporary file in a private directory beside path, which Close
// renames over path. A failed or abandoned run never leaves a half-written
// file that looks complete. It is not safe for concurrent use.
//
// The file is created with mode 0600, because its rows are personal data;
// change the mode after Close to share it.
type File struct {
	path    string
	dir     string // the private temporary directory, removed by Close and Abort
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
// Abort to discard it; until then a private temporary directory (TempPrefix
// and a random name, mode 0700) exists next to path, holding the file
// (mode 0600) and any spill files. Create first removes the temporary
// directories and files that sinks killed a day or more ago left in path's
// directory.
//
// Why a directory of its own beside path: beside, on the same file system,
// so that Close's rename into path is atomic (a file in the system's temp
// directory could not be renamed across file systems); private, so that
// whatever goes into it (the output, the Arrow spill, excelize's buffers,
// made with whatever modes their code picks) is out of other users' reach
// even when path is in a shared directory such as /tmp; and one per writer,
// so that Close and Abort remove everything it made in one step, and a
// sweep removes one leftover per killed writer.
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
	// Best effort: a leftover that cannot be removed only wastes space.
	fsx.SweepStale(dir, staleAge, tempPrefix)
	fsx.SweepStaleDirs(dir, staleAge, tempPrefix)
	priv, err := os.MkdirTemp(dir, tempPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("sink: create %s: %w", path, err)
	}
	cfg.tempDir = priv // spill next to the output: the disk the user chose for it
	tmp, err := fsx.CreateTemp(priv, filepath.Base(path)+"-", ".tmp")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sink: create %s: %w", path, err), removeDir(priv))
	}
	s, err := newStream(tmp, format, schema, cfg)
	if err != nil {
		return nil, errors.Join(err, tmp.Discard(), removeDir(priv))
	}
	return &File{path: path, dir: priv, tmp: tmp, s: s, touched: time.Now()}, nil
}

// removeDir removes a private temporary directory and all in it.
func removeDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	return nil
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
		f.err = errors.Join(err, f.tmp.Discard(), removeDir(f.dir))
		return f.err
	}
	if err := f.tmp.Commit(f.path); err != nil {
		f.err = fmt.Errorf("sink: %s: %w", f.path, err)
	}
	f.err = errors.Join(f.err, removeDir(f.dir))
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
	return errors.Join(f.s.Abort(), f.tmp.Discard(), removeDir(f.dir))
}

// CheckPath checks, without leaving anything behind, that Create could
// write path: its extension names a format, its directory exists and is a
// directory, path is not itself a directory, and a file can be created in
// the directory (a temporary directory is, and removed). Call it before work that
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
	// The probe is what Create makes first: its private directory.
	probe, err := os.MkdirTemp(dir, tempPrefix+"check-*")
	if err != nil {
		return fmt.Errorf("sink: %s: cannot create files in directory %s: %w", path, dir, cause(err))
	}
	if err := os.Remove(probe); err != nil {
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
