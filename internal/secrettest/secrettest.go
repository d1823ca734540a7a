// Package secrettest finds an API key in what a run wrote: its output, its
// log lines, every file it left and every file it made along the way. It
// is for tests that give wadeep a key and prove it never comes back out.
//
// Start with NewKey, then New: a Scanner looks for the key itself, for any
// 12 of its characters in a row (a key cut short is still a leak), and for
// the forms a careless encoder would give it (base64 at every alignment,
// hex, URL escapes, JSON with escaped slashes). It looks inside what it
// can open: zip entries (XLSX), gzip and zstd streams, Parquet values,
// and what a kill cut short of them.
package secrettest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/zstd"
)

// KeyLen is the length of the keys NewKey makes.
const KeyLen = 40

// partLen is the shortest run of the key's characters that counts as a
// leak of part of it. Twelve random base64 characters are 72 bits: no
// file holds them by chance.
const partLen = 12

// NewKey returns a random key of KeyLen characters, different on every
// call, so that no string fixed in the code can pass for it. It holds a
// '+' and a '/', so that its escaped forms differ from it.
func NewKey() string {
	b := make([]byte, 30)
	rand.Read(b) // never fails (crypto/rand)
	k := []byte(base64.RawURLEncoding.EncodeToString(b))
	k[13], k[27] = '+', '/'
	return string(k)
}

// Scanner finds one key. Safe for concurrent use.
type Scanner struct {
	key   string
	forms []form
}

type form struct {
	name string
	b    []byte
	part int // 1 + the offset in the key of a run of partLen characters; 0 for a whole form
}

// New returns a Scanner for key. The parts of a key shorter than 12
// characters are not looked for: they could be found by chance.
func New(key string) *Scanner {
	s := &Scanner{key: key}
	seen := map[string]bool{}
	add := func(name, v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			s.forms = append(s.forms, form{name: name, b: []byte(v)})
		}
	}
	add("the key", key)
	for _, enc := range []struct {
		name string
		e    *base64.Encoding
	}{{"base64", base64.StdEncoding}, {"base64url", base64.URLEncoding}} {
		// The key inside a longer text starts at any of three offsets of a
		// base64 group: encode it behind 0, 1 and 2 bytes and keep the
		// characters that depend on the key alone.
		for pad := 0; pad < 3; pad++ {
			e := enc.e.EncodeToString(append(make([]byte, pad), key...))
			if len(e) < 12 {
				continue
			}
			lo := 0
			if pad > 0 {
				lo = 4
			}
			add(fmt.Sprintf("%s of the key (offset %d)", enc.name, pad), e[lo:len(e)-4])
		}
	}
	add("hex of the key", hex.EncodeToString([]byte(key)))
	add("HEX of the key", strings.ToUpper(hex.EncodeToString([]byte(key))))
	add("the key query-escaped", url.QueryEscape(key))
	add("the key path-escaped", url.PathEscape(key))
	add("the key with JSON-escaped slashes", strings.ReplaceAll(key, "/", `\/`))
	for i := 0; i+partLen <= len(key); i++ {
		if v := key[i : i+partLen]; !seen[v] {
			seen[v] = true
			s.forms = append(s.forms, form{b: []byte(v), part: i + 1})
		}
	}
	return s
}

// Find names the forms of the key in b; none when it holds none. Parts of
// the key are named as the runs of its characters found ("characters 1-15
// of the key"), and not at all when the whole key is.
func (s *Scanner) Find(b []byte) []string {
	var found []string
	whole := false
	var parts []int // 0-based offsets of the runs found, ascending
	for _, f := range s.forms {
		if !bytes.Contains(b, f.b) {
			continue
		}
		switch {
		case f.part > 0:
			parts = append(parts, f.part-1)
		case f.name == "the key":
			whole = true
			found = append(found, f.name)
		default:
			found = append(found, f.name)
		}
	}
	if whole {
		return found
	}
	for i := 0; i < len(parts); {
		j := i
		for j+1 < len(parts) && parts[j+1] == parts[j]+1 {
			j++
		}
		found = append(found, fmt.Sprintf("characters %d-%d of the key", parts[i]+1, parts[j]+partLen))
		i = j + 1
	}
	return found
}

// Mask replaces every form of the key in b by "<KEY>", for messages: a
// failing test must not print the key either.
func (s *Scanner) Mask(b []byte) string {
	hide := make([]bool, len(b))
	for _, f := range s.forms {
		for off := 0; ; {
			i := bytes.Index(b[off:], f.b)
			if i < 0 {
				break
			}
			for j := off + i; j < off+i+len(f.b); j++ {
				hide[j] = true
			}
			off += i + 1
		}
	}
	var out strings.Builder
	for i := 0; i < len(b); i++ {
		if !hide[i] {
			out.WriteByte(b[i])
			continue
		}
		out.WriteString("<KEY>")
		for i+1 < len(b) && hide[i+1] {
			i++
		}
	}
	return out.String()
}

// A Finding is the key found in one place.
type Finding struct {
	Where string   // a file, "file!entry" inside an archive, or a label
	Forms []string // what was found (Find)
	Near  string   // the text around the first form found, masked
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s; near %q", f.Where, strings.Join(f.Forms, ", "), f.Near)
}

// Check is Find of b as a Finding named where; nil when b is clean.
func (s *Scanner) Check(where string, b []byte) *Finding {
	forms := s.Find(b)
	if len(forms) == 0 {
		return nil
	}
	return &Finding{Where: where, Forms: forms, Near: s.near(b)}
}

func (s *Scanner) near(b []byte) string {
	for _, f := range s.forms {
		if i := bytes.Index(b, f.b); i >= 0 {
			lo, hi := max(0, i-60), min(len(b), i+len(f.b)+60)
			return s.Mask(b[lo:hi])
		}
	}
	return ""
}

// A Decoder opens a file of a format the Scanner does not know (a DuckDB
// database, say) and returns its contents as text; ok is false when the
// file is not of its format.
type Decoder func(path string) (text []byte, ok bool, err error)

// Tree scans every regular file under the roots, and the contents of those
// it can open (zip, gzip, zstd, Parquet, and what decoders open). It
// returns what it found and how many files it read. A damaged archive (a
// zip or Parquet file a kill cut short) is read as far as it goes: the
// entries and zstd frames it holds are inflated one by one.
func (s *Scanner) Tree(decoders []Decoder, roots ...string) (found []Finding, files int, err error) {
	var errs []error
	for _, root := range roots {
		walkErr := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			if f := s.Check(path, b); f != nil {
				found = append(found, *f)
			}
			inner, derr := s.inside(path, b, decoders)
			found = append(found, inner...)
			if derr != nil {
				errs = append(errs, fmt.Errorf("%s: %w", path, derr))
			}
			return nil
		})
		if walkErr != nil {
			errs = append(errs, walkErr)
		}
	}
	return found, files, errors.Join(errs...)
}

// inside scans what b holds once opened. Only a decoder's failure is an
// error; a damaged archive is salvaged.
func (s *Scanner) inside(path string, b []byte, decoders []Decoder) ([]Finding, error) {
	var found []Finding
	check := func(where string, c []byte) {
		if f := s.Check(where, c); f != nil {
			found = append(found, *f)
		}
	}
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			s.salvage(path, b, check)
			break
		}
		for _, zf := range zr.File {
			check(path+"!"+zf.Name+" (name)", []byte(zf.Name))
			rc, err := zf.Open()
			if err != nil {
				s.salvage(path, b, check)
				break
			}
			c, err := io.ReadAll(io.LimitReader(rc, maxInflated))
			rc.Close()
			check(path+"!"+zf.Name, c)
			if err != nil {
				s.salvage(path, b, check)
				break
			}
		}
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			break
		}
		c, _ := io.ReadAll(io.LimitReader(zr, maxInflated)) // as far as it goes
		check(path+"!gunzipped", c)
	case bytes.HasPrefix(b, []byte("PAR1")):
		c, err := parquetText(b)
		if err != nil {
			s.salvage(path, b, check)
			break
		}
		check(path+"!values", c)
	default:
		s.salvage(path, b, check) // zstd streams, whole or inside another format
		for _, d := range decoders {
			c, ok, err := d(path)
			if err != nil {
				return found, err
			}
			if ok {
				check(path+"!decoded", c)
				break
			}
		}
	}
	return found, nil
}

// maxInflated bounds what one entry or stream inflates to.
const maxInflated = 256 << 20

var (
	zipLocal  = []byte("PK\x03\x04")
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// salvage inflates, as far as each goes, every zip entry whose local
// header b holds and every zstd frame (Parquet's pages), so that a file cut
// short is read too.
func (s *Scanner) salvage(path string, b []byte, check func(where string, c []byte)) {
	for off := 0; ; {
		i := bytes.Index(b[off:], zipLocal)
		if i < 0 {
			break
		}
		h := b[off+i:]
		off += i + 1
		if len(h) < 30 {
			break
		}
		method := uint16(h[8]) | uint16(h[9])<<8
		nameLen := int(h[26]) | int(h[27])<<8
		extraLen := int(h[28]) | int(h[29])<<8
		if 30+nameLen+extraLen > len(h) {
			continue
		}
		name := string(h[30 : 30+nameLen])
		data := h[30+nameLen+extraLen:]
		var c []byte
		switch method {
		case zip.Store:
			c = data
		case zip.Deflate:
			c, _ = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(data)), maxInflated)) // as far as it goes
		}
		check(fmt.Sprintf("%s!%s (entry at byte %d)", path, name, off-1), c)
	}
	for off := 0; ; {
		i := bytes.Index(b[off:], zstdMagic)
		if i < 0 {
			break
		}
		at := off + i
		off = at + 1
		zr, err := zstd.NewReader(bytes.NewReader(b[at:]), zstd.WithDecoderConcurrency(1))
		if err != nil {
			continue
		}
		c, _ := io.ReadAll(io.LimitReader(zr, maxInflated)) // as far as it goes
		zr.Close()
		check(fmt.Sprintf("%s!zstd frame at byte %d", path, at), c)
	}
}

// parquetText is a Parquet file's schema, metadata and every value, as
// text: its pages are compressed, so its raw bytes hide strings.
func parquetText(b []byte) ([]byte, error) {
	pf, err := file.NewParquetReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	var out bytes.Buffer
	for _, kv := range pf.MetaData().KeyValueMetadata() {
		fmt.Fprintf(&out, "%s=%s\n", kv.Key, kv.GetValue())
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	fmt.Fprintln(&out, rr.Schema().String())
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			for _, col := range rec.Columns() {
				out.WriteString(col.ValueStr(i))
				out.WriteByte('\t')
			}
			out.WriteByte('\n')
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return out.Bytes(), nil
}

// Watcher scans directories over and over while a run goes on, so that
// files the run makes and removes before it ends (temp files, a download
// in progress, a socket directory) are read too.
type Watcher struct {
	s     *Scanner
	roots []string
	stop  chan struct{}
	done  chan struct{}

	mu     sync.Mutex
	found  map[string]Finding
	seen   map[string]bool
	last   map[string]stamp
	rounds int
}

type stamp struct {
	size int64
	mod  time.Time
}

// Watch starts a Watcher on the roots; Stop ends it.
func (s *Scanner) Watch(roots ...string) *Watcher {
	w := &Watcher{s: s, roots: roots, stop: make(chan struct{}), done: make(chan struct{}),
		found: map[string]Finding{}, seen: map[string]bool{}, last: map[string]stamp{}}
	go w.loop()
	return w
}

func (w *Watcher) loop() {
	defer close(w.done)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		w.round()
		select {
		case <-w.stop:
			w.round() // one more, after the run
			return
		case <-tick.C:
		}
	}
}

// round reads every file under the roots that changed since it was last
// read (a file is read again whenever its size or time changes).
func (w *Watcher) round() {
	for _, root := range w.roots {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil // gone already, or not a file: nothing to read
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			st := stamp{info.Size(), info.ModTime()}
			w.mu.Lock()
			same := w.last[path] == st
			w.mu.Unlock()
			if same {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil // gone since
			}
			f := w.s.Check(path, b)
			if inner, _ := w.s.inside(path, b, nil); len(inner) > 0 && f == nil {
				f = &inner[0]
			}
			w.mu.Lock()
			w.seen[path] = true
			w.last[path] = st
			if _, ok := w.found[path]; f != nil && !ok {
				w.found[path] = *f
			}
			w.mu.Unlock()
			return nil
		})
	}
	w.mu.Lock()
	w.rounds++
	w.mu.Unlock()
}

// Stop ends the watch after one last round and returns what it found, the
// files it saw (all it read, including those gone by now) and the rounds
// it made.
func (w *Watcher) Stop() (found []Finding, seen []string, rounds int) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.found {
		found = append(found, f)
	}
	for p := range w.seen {
		seen = append(seen, p)
	}
	sort.Strings(seen)
	sort.Slice(found, func(i, j int) bool { return found[i].Where < found[j].Where })
	return found, seen, w.rounds
}
