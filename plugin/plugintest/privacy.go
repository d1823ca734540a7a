package plugintest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/plugin"
)

// pseudonymKey is the suite's pseudonymisation key (not the API key).
const pseudonymKey = "plugintest pseudonymisation key, 32 bytes and more"

func hmacHex(e164 string) string {
	m := hmac.New(sha256.New, []byte(pseudonymKey))
	m.Write([]byte(e164))
	return hex.EncodeToString(m.Sum(nil))
}

// testPrivacy: Pseudonymize and Drop apply to Discover's schemas, Write's
// rejects and Read's stream (profiles and the enriched view); a weak key
// file or an unknown column is a ConfigError, before any call.
func testPrivacy(t *testing.T, target Target) {
	c := open(t, target)
	ctx := context.Background()
	sb := NewSandbox(t, math.Inf(1))
	dir := t.TempDir()
	key := filepath.Join(dir, "pseudonym.key")
	require.NoError(t, os.WriteFile(key, []byte(pseudonymKey+"\n"), 0o600))
	open := filepath.Join(dir, "open.key")
	require.NoError(t, os.WriteFile(open, []byte(pseudonymKey), 0o600))
	require.NoError(t, os.Chmod(open, 0o644))

	for _, bad := range []struct {
		pseudonymize string
		drop         []string
		field, want  string
	}{
		{"pseudonym.key", nil, "pseudonymize", "want an absolute path"},
		{open, nil, "pseudonymize", "lets others read it"},
		{filepath.Join(dir, "missing.key"), nil, "pseudonymize", "no such file"},
		{"", []string{"gendre"}, "drop", `cannot drop "gendre": no such column`},
		{"", []string{"number"}, "drop", "cannot be dropped"},
	} {
		cfg := sb.Config(t)
		cfg.Pseudonymize, cfg.Drop = bad.pseudonymize, bad.drop
		var ce *plugin.ConfigError
		require.ErrorAs(t, c.Validate(ctx, cfg), &ce)
		require.Len(t, ce.Fields, 1)
		require.Equal(t, bad.field, ce.Fields[0].Field)
		require.Contains(t, ce.Fields[0].Problem, bad.want)
		_, err := c.Write(ctx, cfg, Numbers(3, ""))
		require.ErrorAs(t, err, &ce)
	}
	require.Zero(t, sb.Charged())

	cfg := sb.Config(t)
	cfg.ChunkSize = 40
	cfg.Pseudonymize, cfg.Drop = key, []string{"gender", "hair_color"}
	s, err := c.Discover(ctx, cfg)
	require.NoError(t, err)
	for _, sc := range []string{s.Profiles.String(), s.Enriched.String()} {
		require.NotContains(t, sc, "gender")
		require.NotContains(t, sc, "hair_color")
		require.Contains(t, sc, "age_min")
	}

	res, err := c.Write(ctx, cfg, Numbers(50, "n"))
	require.NoError(t, err)
	rejects := Rows(t, res.Rejects)
	res.Release()
	require.NotEmpty(t, rejects)
	for _, r := range rejects {
		require.NotContains(t, r, "+336", "a reject's number is a pseudonym")
		if strings.Contains(r, "reason=duplicate") {
			require.Regexp(t, `value=[0-9a-f]{64} `, r)
		}
	}

	r, err := c.Read(ctx, cfg)
	require.NoError(t, err)
	require.True(t, r.Schema().Equal(s.Profiles), "Read's schema is Discover's: %s", r.Schema())
	rows := Rows(t, r)
	r.Release()
	want := map[string]bool{}
	in := Numbers(50, "n")
	for in.Next() {
		ph := in.RecordBatch().Column(0)
		for i := 0; i < ph.Len(); i++ {
			if v := ph.ValueStr(i); strings.HasPrefix(v, "+336") {
				want["number="+hmacHex(v)] = true
			}
		}
	}
	in.Release()
	require.Len(t, rows, len(want))
	for _, row := range rows {
		require.True(t, want[strings.Fields(row)[0]], "not a pseudonym of an input number: %s", row)
		require.NotContains(t, row, "+336")
	}

	cfg.Enrich = true
	r, err = c.Read(ctx, cfg)
	require.NoError(t, err)
	rows = Rows(t, r)
	r.Release()
	require.Len(t, rows, 50)
	require.Equal(t, "phone="+hmacHex("+33610000000"), strings.Fields(rows[0])[0], "the input's phone column is pseudonymised too")
	require.Contains(t, rows[0], "note=n0")
	for _, row := range rows {
		require.NotContains(t, row, "+336")
	}
}
