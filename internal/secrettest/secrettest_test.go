package secrettest

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"
)

func TestNewKey(t *testing.T) {
	a, b := NewKey(), NewKey()
	require.Len(t, a, KeyLen)
	require.NotEqual(t, a, b)
	require.Contains(t, a, "+")
	require.Contains(t, a, "/")
	require.NotEqual(t, a, url.QueryEscape(a), "the escaped form differs")
}

func TestFind(t *testing.T) {
	key := NewKey()
	s := New(key)
	for name, text := range map[string]string{
		"raw":          "error: bad key " + key + " given",
		"cut short":    "key=" + key[3:20] + "…",
		"hex":          "dump " + hex.EncodeToString([]byte("X-API-Key: "+key)),
		"query":        "GET /x?api_key=" + url.QueryEscape(key) + "&u=1",
		"json slashes": `{"key":"` + strings.ReplaceAll(key, "/", `\/`) + `"}`,
	} {
		require.NotEmpty(t, s.Find([]byte(text)), name)
		require.NotContains(t, s.Mask([]byte(text)), key, name)
	}
	// base64 of a text that holds the key, whatever its offset there.
	for _, prefix := range []string{"", "a", "ab", "abc", "Authorization: Basic "} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			b := enc.EncodeToString([]byte(prefix + key + " and more"))
			require.NotEmpty(t, s.Find([]byte("x "+b+" y")), "prefix %q", prefix)
		}
	}
	// Parts are named as the runs found.
	require.Equal(t, []string{"characters 4-20 of the key"}, s.Find([]byte("key="+key[3:20]+"…")))
	// Overlapping parts are masked as one.
	require.Equal(t, "cut: <KEY>…", s.Mask([]byte("cut: "+key[:15]+"…")))
	// The whole key is named once, not as its 29 parts as well.
	require.Equal(t, []string{"the key"}, s.Find([]byte(key)))
	// Another key's text is clean.
	require.Empty(t, s.Find([]byte(NewKey()+hex.EncodeToString([]byte(NewKey())))))
}

func TestTreeLooksInside(t *testing.T) {
	key := NewKey()
	s := New(key)
	dir := t.TempDir()

	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, err := zw.Create("xl/sharedStrings.xml")
	require.NoError(t, err)
	w.Write([]byte(strings.Repeat("<si><t>cell</t></si>", 100) + "<si><t>" + key + "</t></si>"))
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "book.xlsx"), zb.Bytes(), 0o600))
	require.Empty(t, s.Find(zb.Bytes()), "deflated: not in the raw bytes")

	var gb bytes.Buffer
	gw := gzip.NewWriter(&gb)
	gw.Write([]byte("log line " + key))
	gw.Close()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "log.gz"), gb.Bytes(), 0o600))

	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.BinaryTypes.String}}, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	sb := bld.Field(0).(*array.StringBuilder)
	sb.Append("!") // the least and the greatest value, which statistics keep as they are
	sb.Append("~~~")
	for i := 0; i < 50; i++ {
		sb.Append(fmt.Sprintf("value %d", i))
	}
	sb.Append(key)
	rec := bld.NewRecordBatch()
	bld.Release()
	f, err := os.Create(filepath.Join(dir, "t.parquet"))
	require.NoError(t, err)
	pw, err := pqarrow.NewFileWriter(schema, f, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDictionaryDefault(true)), pqarrow.DefaultWriterProps())
	require.NoError(t, err)
	require.NoError(t, pw.Write(rec))
	rec.Release()
	require.NoError(t, pw.Close())

	require.NoError(t, os.WriteFile(filepath.Join(dir, "clean.txt"), []byte("nothing here"), 0o600))

	// What a kill leaves: the same files cut short, their ends (the zip
	// directory, the Parquet footer) missing.
	pq, err := os.ReadFile(filepath.Join(dir, "t.parquet"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".download-1"), zb.Bytes()[:zb.Len()-60], 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".tmp-t.parquet"), pq[:len(pq)/2], 0o600))

	found, files, err := s.Tree(nil, dir)
	require.NoError(t, err)
	require.Equal(t, 6, files)
	var where []string
	for _, f := range found {
		w := strings.TrimPrefix(f.Where, dir+string(filepath.Separator))
		where = append(where, regexp.MustCompile(`zstd frame at byte \d+`).ReplaceAllString(w, "zstd frame"))
		require.NotContains(t, f.String(), key, "a finding masks the key")
	}
	require.ElementsMatch(t, []string{"book.xlsx!xl/sharedStrings.xml", "log.gz!gunzipped", "t.parquet!values",
		".download-1!xl/sharedStrings.xml (entry at byte 0)", ".tmp-t.parquet!zstd frame"}, where)
}

func TestWatchSeesFilesGoneByTheEnd(t *testing.T) {
	key := NewKey()
	s := New(key)
	dir := t.TempDir()
	w := s.Watch(dir)
	tmp := filepath.Join(dir, ".download-1")
	// Made whole in one step (a rename), so that the watcher cannot read
	// it empty and miss it.
	other := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(other, []byte("partial "+key), 0o600))
	require.NoError(t, os.Rename(other, tmp))
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.seen[tmp]
	}, 5e9, 1e6)
	require.NoError(t, os.Remove(tmp))
	found, seen, rounds := w.Stop()
	require.Contains(t, seen, tmp)
	require.Len(t, found, 1)
	require.Positive(t, rounds)
}
