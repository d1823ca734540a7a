// Package fuzzseed reads the seeds of fuzz targets from testdata: each
// target's seeds are files a reader can open and add to, and a target whose
// seed files went missing fails instead of fuzzing from nothing.
//
//	for _, s := range fuzzseed.Files(f, "testdata/inputs/*.csv") {
//		f.Add(s.Data)
//	}
//
// Crashers the fuzzer finds are kept beside them, in Go's own corpus
// format, under testdata/fuzz/FuzzName/ (go test runs those by itself).
package fuzzseed

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// File is one seed file.
type File struct {
	Path string
	Data []byte
}

// Ext is the file's extension in lower case, with its dot: ".csv".
func (s File) Ext() string { return strings.ToLower(filepath.Ext(s.Path)) }

// Files reads the files matching each pattern (filepath.Glob), in path
// order. A pattern that matches no file fails f.
func Files(f *testing.F, patterns ...string) []File {
	f.Helper()
	var out []File
	for _, p := range patterns {
		paths, err := filepath.Glob(p)
		if err != nil {
			f.Fatalf("fuzzseed: %s: %v", p, err)
		}
		if len(paths) == 0 {
			f.Fatalf("fuzzseed: no seed file matches %s", p)
		}
		sort.Strings(paths)
		for _, path := range paths {
			b, err := os.ReadFile(path)
			if err != nil {
				f.Fatalf("fuzzseed: %v", err)
			}
			out = append(out, File{Path: path, Data: b})
		}
	}
	return out
}

// Strings reads a seed file of short values (header values, cells,
// numbers) that are clearer in one list than one file each: one Go string
// literal a line ("+41 79", "a\x00b", `raw`), so that control characters
// and bytes that are not UTF-8 can be written; blank lines and lines
// starting with # are left out.
func Strings(f *testing.F, path string) []string {
	f.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatalf("fuzzseed: %v", err)
	}
	var out []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := strconv.Unquote(line)
		if err != nil {
			f.Fatalf("fuzzseed: %s:%d: want a Go string literal: %v", path, i+1, err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		f.Fatalf("fuzzseed: %s holds no seed", path)
	}
	return out
}
