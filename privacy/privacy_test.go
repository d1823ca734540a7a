package privacy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

const testKey = "0123456789abcdef0123456789abcdef-key"

// hmacHex is the pseudonym as a user would compute it to check one.
func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func writeKey(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	require.NoError(t, os.Chmod(path, mode))
	return path
}

func TestLoadKey(t *testing.T) {
	key, err := LoadKey(writeKey(t, testKey+"\n", 0o600))
	require.NoError(t, err)
	require.Equal(t, testKey, string(key), "one trailing newline is trimmed")
	key, err = LoadKey(writeKey(t, testKey+"\r\n", 0o400))
	require.NoError(t, err)
	require.Equal(t, testKey, string(key))

	_, err = LoadKey(writeKey(t, strings.Repeat("k", 31)+"\n", 0o600))
	require.ErrorContains(t, err, "31 bytes, want at least 32")
	_, err = LoadKey(filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "key file cannot be opened: no such file")
	_, err = LoadKey(testKey)
	require.NotContains(t, err.Error(), testKey, "a key given for its file's path is not echoed")
	_, err = LoadKey(t.TempDir())
	require.ErrorContains(t, err, "not a regular file")
	if runtime.GOOS != "windows" {
		for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
			_, err = LoadKey(writeKey(t, testKey, mode))
			require.ErrorContains(t, err, "lets others read it", "mode %04o", mode)
		}
	}
}

func TestPseudonymizer(t *testing.T) {
	_, err := NewPseudonymizer([]byte("short"))
	require.Error(t, err)
	p, err := NewPseudonymizer([]byte(testKey))
	require.NoError(t, err)
	want := hmacHex(testKey, "+41798284651")
	require.Equal(t, want, p.Number("+41798284651"))
	require.True(t, IsPseudonym(want))
	require.False(t, IsPseudonym("+41798284651"))

	other, err := NewPseudonymizer([]byte(testKey + "2"))
	require.NoError(t, err)
	require.NotEqual(t, want, other.Number("+41798284651"), "another key, another pseudonym")
	require.NotEqual(t, p.KeyID(), other.KeyID())
	require.Len(t, p.KeyID(), 16)
	require.NotContains(t, want, p.KeyID())

	// Rejected values: a duplicate's number, digits, and text with none.
	require.Equal(t, want, p.Value("079 828 46 51", "+41798284651"))
	require.Equal(t, hmacHex(testKey, "+12"), p.Value("+12", ""))
	require.Equal(t, "not a phone", p.Value("not a phone", ""))

	// A detail quoting a number.
	d := "no country code: add + or --region (+41798284651 would be a valid number in Switzerland)"
	require.Equal(t, strings.Replace(d, "+41798284651", want, 1), p.Text(d))
	require.Equal(t, "too short for Switzerland", p.Text("too short for Switzerland"))
	require.Equal(t, "+12 and +", p.Text("+12 and +"), "too short to be a number")
}

func profileBatch(t *testing.T, mem memory.Allocator, numbers ...string) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "number", Type: arrow.BinaryTypes.String},
		{Name: "gender", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "category", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, n := range numbers {
		b.Field(0).(*array.StringBuilder).Append(n)
		b.Field(1).(*array.StringBuilder).Append("female")
		b.Field(2).(*array.StringBuilder).AppendNull()
	}
	return b.NewRecordBatch()
}

func TestPolicy(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	p, err := NewPseudonymizer([]byte(testKey))
	require.NoError(t, err)
	rec := profileBatch(t, mem, "+41798284651", "+33612345678")
	defer rec.Release()

	pol := Policy{Pseudonymizer: p, Drop: []string{"gender"}}
	schema, err := pol.Schema(rec.Schema())
	require.NoError(t, err)
	require.False(t, schema.HasField("gender"))
	f, _ := schema.FieldsByName("number")
	require.Equal(t, MetaPseudonymValue, f[0].Metadata.Values()[f[0].Metadata.FindKey(MetaPseudonym)])

	out, err := pol.Apply(mem, rec, schema, ColNumber)
	require.NoError(t, err)
	defer out.Release()
	require.Equal(t, int64(2), out.NumCols())
	nums := out.Column(0).(*array.String)
	require.Equal(t, hmacHex(testKey, "+41798284651"), nums.Value(0))
	require.Equal(t, hmacHex(testKey, "+33612345678"), nums.Value(1))

	again, err := pol.Apply(mem, out, schema, ColNumber)
	require.NoError(t, err)
	defer again.Release()
	require.Equal(t, nums.Value(0), again.Column(0).(*array.String).Value(0), "applying twice changes nothing")

	_, err = Policy{Drop: []string{"number"}}.Schema(rec.Schema())
	require.ErrorContains(t, err, "--pseudonymize")
	_, err = Policy{Drop: []string{"gendre"}}.Schema(rec.Schema())
	require.ErrorContains(t, err, `cannot drop "gendre": no such column; the columns are gender, category`)

	same, err := Policy{}.Schema(rec.Schema())
	require.NoError(t, err)
	require.True(t, same.Equal(rec.Schema()), "the zero policy keeps everything")
}
