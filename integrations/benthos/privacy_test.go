package wadeepbenthos_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/wadeep/wadeep/emulator"
	wadeepbenthos "github.com/wadeep/wadeep/integrations/benthos"
)

const pseudonymKey = "benthos test pseudonymisation key, over 32 bytes"

func hmacHex(e164 string) string {
	m := hmac.New(sha256.New, []byte(pseudonymKey))
	m.Write([]byte(e164))
	return hex.EncodeToString(m.Sum(nil))
}

func newProcessor(t *testing.T, url, extra string) (*wadeepbenthos.Processor, error) {
	t.Helper()
	yaml := fmt.Sprintf("api_url: %s\napi_key: %s\nuser_id: u1\nstate_dir: %s\nfield: contact.mobile\npoll_floor: 10ms\nexport_min: -1s\n%s",
		url, secretKey, filepath.Join(t.TempDir(), "state"), extra)
	conf, err := wadeepbenthos.ConfigSpec().ParseYAML(yaml, nil)
	if err != nil {
		t.Fatal(err)
	}
	return wadeepbenthos.NewProcessor(conf, service.MockResources())
}

// TestPseudonymizeAndDrop: with pseudonymize, a message's own number and
// its profile's number are the number's HMAC-SHA-256 under the key; drop
// leaves fields out; a weak key file or an unknown field is refused when
// the processor is made.
func TestPseudonymizeAndDrop(t *testing.T) {
	sb := emulator.New(emulator.WithAPIKey(secretKey), emulator.WithSpeed(math.Inf(1)), emulator.WithStartDelay(0), emulator.WithExportDelay(0))
	ts := httptest.NewServer(sb)
	defer ts.Close()
	dir := t.TempDir()
	key := filepath.Join(dir, "pseudonym.key")
	if err := os.WriteFile(key, []byte(pseudonymKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := newProcessor(t, ts.URL, fmt.Sprintf("pseudonymize: %s\ndrop: [gender, hair_color]\n", key))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	var batch service.MessageBatch
	for _, m := range []string{
		`{"id":1,"contact":{"mobile":"+41798284651"}}`,
		`{"id":2,"contact":{"mobile":"not a phone 12"}}`,
		`{"id":3,"contact":{"mobile":"+41 79 828 46 51"}}`,
	} {
		batch = append(batch, service.NewMessage([]byte(m)))
	}
	out, err := p.ProcessBatch(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	for _, msg := range out[0] {
		if err := msg.GetError(); err != nil {
			t.Fatal(err)
		}
		b, _ := msg.AsBytes()
		if strings.Contains(string(b), "828") || strings.Contains(string(b), "gender") || strings.Contains(string(b), "hair_color") {
			t.Errorf("message holds a number in clear or a dropped field: %s", b)
		}
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	want := hmacHex("+41798284651")
	for _, i := range []int{0, 2} {
		if got := docs[i]["contact"].(map[string]any)["mobile"]; got != want {
			t.Errorf("message %d: contact.mobile = %v, want the pseudonym %s", i+1, got, want)
		}
		if docs[i]["number"] != want {
			t.Errorf("message %d: number = %v, want %s", i+1, docs[i]["number"], want)
		}
		if _, ok := docs[i]["age_min"]; !ok {
			t.Errorf("message %d: age_min is not dropped but missing", i+1)
		}
	}
	if got := docs[1]["contact"].(map[string]any)["mobile"]; got != hmacHex("not a phone 12") {
		t.Errorf("a rejected value with digits: %v, want its HMAC", got)
	}
	if docs[1]["reject_reason"] != "not a number" {
		t.Errorf("reject_reason = %v", docs[1]["reject_reason"])
	}

	open := filepath.Join(dir, "open.key")
	if err := os.WriteFile(open, []byte(pseudonymKey), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o644)
	for extra, want := range map[string]string{
		"pseudonymize: " + open + "\n": "lets others read it",
		"drop: [gendre]\n":             `cannot drop "gendre"`,
		"drop: [number]\n":             "cannot be dropped",
	} {
		if _, err := newProcessor(t, ts.URL, extra); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", strings.TrimSpace(extra), err, want)
		}
	}
	if n := sb.Stats().Charged; n != 2 {
		t.Errorf("charged calls: %d, want 2 (one creation, one status)", n)
	}
}
