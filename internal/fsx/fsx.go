// Package fsx holds the file system steps that make wadeep's writes safe
// against crashes and hard kills: a private temporary file beside its
// destination that becomes the destination in one rename (Temp), an atomic
// replace of a small file (WriteFile), the directory sync that makes a rename
// durable (SyncDir), and the sweep of temporary files a killed process left
// behind (SweepStale).
//
// Every temporary file is named prefix + random + suffix, with a prefix of the
// caller's choosing, so that the sweep can tell its own leftovers from the
// user's files.
package fsx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TempPrefix is the prefix of WriteFile's temporary files.
const TempPrefix = ".tmp-"

// Temp is a private temporary file (mode 0600) that becomes another file
// only when Commit succeeds; until then nothing appears at the destination.
// Create it in the destination's directory, so that Commit is a rename. It
// is not safe for concurrent use.
//
//	t, err := fsx.CreateTemp(dir, ".download-", "")
//	if err != nil {
//		return err
//	}
//	defer t.Discard() // a no-op after a successful Commit
//	if _, err := io.Copy(t, src); err != nil {
//		return err
//	}
//	return t.Commit(filepath.Join(dir, "result.xlsx"))
type Temp struct {
	f      *os.File
	name   string
	closed bool
	done   bool
	err    error // of Close; sticks
}

// CreateTemp creates a new temporary file in dir named prefix + random +
// suffix, with mode 0600 (os.CreateTemp's, which a umask only narrows), open
// for reading and writing.
func CreateTemp(dir, prefix, suffix string) (*Temp, error) {
	if strings.ContainsAny(prefix+suffix, `/\`) {
		return nil, fmt.Errorf("fsx: temp name %q*%q holds a path separator", prefix, suffix)
	}
	f, err := os.CreateTemp(dir, prefix+"*"+suffix)
	if err != nil {
		return nil, err
	}
	return &Temp{f: f, name: f.Name()}, nil
}

// Name is the temporary file's path.
func (t *Temp) Name() string { return t.name }

// File is the open file, for seeking, reading back or stat. Do not close it:
// call Close, Commit or Discard.
func (t *Temp) File() *os.File { return t.f }

// Write writes to the temporary file.
func (t *Temp) Write(p []byte) (int, error) {
	if t.closed {
		return 0, fmt.Errorf("fsx: write to %s after close: %w", t.name, os.ErrClosed)
	}
	return t.f.Write(p)
}

// Close syncs the file's contents to disk and closes it; the file stays,
// under Name, until Commit or Discard. Use it to check the finished file by
// path before committing it. Later calls return the first result.
func (t *Temp) Close() error {
	if t.closed {
		return t.err
	}
	t.closed = true
	// Sync before the rename, so a crash cannot leave a renamed but empty file.
	serr := t.f.Sync()
	cerr := t.f.Close()
	if err := errors.Join(serr, cerr); err != nil {
		t.err = fmt.Errorf("fsx: %s: %w", t.name, err)
	}
	return t.err
}

// Commit closes the file (as Close) if it is open, renames it to path and
// syncs path's directory, so that path holds either its old contents or the
// whole new file, even across a crash. path should be in the temp file's
// directory. If Commit fails before the rename, the temporary file is
// removed. After Commit or Discard it returns an error.
func (t *Temp) Commit(path string) error {
	if t.done {
		return fmt.Errorf("fsx: commit of %s after commit or discard", t.name)
	}
	if err := t.Close(); err != nil {
		return errors.Join(err, t.Discard())
	}
	if err := os.Rename(t.name, path); err != nil {
		return errors.Join(fmt.Errorf("fsx: %w", err), t.Discard())
	}
	t.done = true
	return SyncDir(filepath.Dir(path))
}

// Discard closes the file if it is open and removes it. After Commit or an
// earlier Discard it does nothing, so `defer t.Discard()` right after
// CreateTemp cleans up on every error path. It returns cleanup errors only.
func (t *Temp) Discard() error {
	if t == nil || t.done {
		return nil
	}
	t.done = true
	var cerr error
	if !t.closed {
		t.closed = true
		cerr = t.f.Close()
	}
	if err := os.Remove(t.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errors.Join(cerr, fmt.Errorf("fsx: %w", err))
	}
	if cerr != nil {
		return fmt.Errorf("fsx: %s: %w", t.name, cerr)
	}
	return nil
}

// WriteFile replaces path with data so that a crash at any instant leaves
// either the old file or the new one, never a torn one: a temporary file
// (TempPrefix, mode 0600) in path's directory, fsync, rename, fsync of the
// directory. A leftover of a crash is swept by SweepStale(dir, ..., TempPrefix).
func WriteFile(path string, data []byte) error {
	t, err := CreateTemp(filepath.Dir(path), TempPrefix, "")
	if err != nil {
		return err
	}
	defer t.Discard()
	if _, err := t.Write(data); err != nil {
		return err
	}
	return t.Commit(path)
}

// SyncDir syncs dir, which makes a rename or a removal in it durable. On
// systems where a directory cannot be synced (Windows), it does nothing.
func SyncDir(dir string) error {
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("fsx: sync %s: %w", dir, err)
	}
	return nil
}

// SweepStale removes the regular files directly in dir whose names start
// with one of prefixes and that were last modified more than olderThan ago:
// the temporary files a hard-killed process left behind. Only the caller
// knows which of its temporary files may still be in use: pass an age no
// live writer's file reaches (a writer that runs long refreshes its file's
// modification time), or 0 when a lock shows that no one else writes in dir.
// Other files, subdirectories and symbolic links are never touched. A
// missing dir is not an error. It returns how many files it removed.
func SweepStale(dir string, olderThan time.Duration, prefixes ...string) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	cutoff := time.Now().Add(-olderThan)
	removed := 0
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !hasAnyPrefix(e.Name(), prefixes) {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // committed or removed meanwhile
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if olderThan > 0 && !info.ModTime().Before(cutoff) {
			continue
		}
		switch err := os.Remove(filepath.Join(dir, e.Name())); {
		case err == nil:
			removed++
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("fsx: sweep %s: %w", dir, errors.Join(errs...))
	}
	return removed, nil
}

// SweepStaleDirs removes the directories directly in dir whose names start
// with one of prefixes and in which nothing changed for more than olderThan
// (the directory's own modification time and those of the entries directly
// in it): the private temporary directories (os.MkdirTemp, mode 0700) of
// writers that a hard kill stopped before they could remove them. A live
// writer keeps its directory fresh by writing, or by touching, a file in
// it. As for SweepStale, olderThan 0 removes every match, for a caller whose
// lock shows that no one else works in dir. Each match is removed whole;
// symbolic links are never followed, nor touched at the top. A missing dir
// is not an error. It returns how many directories it removed.
func SweepStaleDirs(dir string, olderThan time.Duration, prefixes ...string) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	cutoff := time.Now().Add(-olderThan)
	removed := 0
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !hasAnyPrefix(e.Name(), prefixes) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if olderThan > 0 {
			newest, err := newestChange(path)
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile by its writer
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !newest.Before(cutoff) {
				continue
			}
		}
		if err := os.RemoveAll(path); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("fsx: sweep %s: %w", dir, errors.Join(errs...))
	}
	return removed, nil
}

// newestChange is the latest modification time of dir and of the entries
// directly in it.
func newestChange(dir string) (time.Time, error) {
	st, err := os.Lstat(dir)
	if err != nil {
		return time.Time{}, err
	}
	newest := st.ModTime()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return time.Time{}, err
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if info.ModTime().After(newest) {
			newest = info.ModTime()
		}
	}
	return newest, nil
}

func hasAnyPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if p != "" && strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
