package wadeepbenthos_test

import (
	"context"
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

func phoneBatch(numbers ...string) service.MessageBatch {
	var b service.MessageBatch
	for i, n := range numbers {
		b = append(b, service.NewMessage([]byte(fmt.Sprintf(`{"id":%d,"contact":{"mobile":%q}}`, i, n))))
	}
	return b
}

// TestCacheServesKnownNumbers: with cache, a batch uploads only the numbers
// the cache holds no fresh profile of, its messages still get every
// profile, and its new results go into the cache for the next batch.
func TestCacheServesKnownNumbers(t *testing.T) {
	sb := emulator.New(emulator.WithAPIKey(secretKey), emulator.WithSpeed(math.Inf(1)), emulator.WithStartDelay(0), emulator.WithExportDelay(0), emulator.WithFailureRate(0))
	ts := httptest.NewServer(sb)
	defer ts.Close()
	db := filepath.Join(t.TempDir(), "profiles.duckdb")
	p, err := newProcessor(t, ts.URL, "cache: "+db+"\nmax_age: 24h\n")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	process := func(numbers ...string) []string {
		t.Helper()
		out, err := p.ProcessBatch(context.Background(), phoneBatch(numbers...))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, msg := range out[0] {
			if err := msg.GetError(); err != nil {
				t.Fatal(err)
			}
			b, _ := msg.AsBytes()
			got = append(got, string(b))
		}
		return got
	}
	first := []string{"+41798284651", "+41798284652", "+41798284653"}
	process(first...)
	before := sb.Uploads()
	second := append([]string{"+41798284699"}, first...)
	msgs := process(second...)
	uploaded := map[string]bool{}
	for n, c := range sb.Uploads() {
		if c > before[n] {
			uploaded[n] = true
		}
	}
	if len(uploaded) != 1 || !uploaded["+41798284699"] {
		t.Fatalf("uploaded %v, want only the number the cache did not hold", uploaded)
	}
	for i, m := range msgs {
		want := emulator.Profile(second[i])
		if !strings.Contains(m, `"number":"`+second[i]+`"`) || !strings.Contains(m, fmt.Sprintf(`"whatsapp":%t`, want.WhatsApp)) {
			t.Errorf("message %d: %s, want the profile of %s", i, m, second[i])
		}
	}
	// The third time, everything is in the cache: nothing is called.
	charged := sb.Stats().Charged
	process(second...)
	if sb.Stats().Charged != charged {
		t.Errorf("a batch the cache holds made %d charged calls", sb.Stats().Charged-charged)
	}
}

// TestKeepJournals: a restarted processor deletes the finished batch
// journals older than keep_journals; a younger one stays.
func TestKeepJournals(t *testing.T) {
	sb := emulator.New(emulator.WithAPIKey(secretKey), emulator.WithSpeed(math.Inf(1)), emulator.WithStartDelay(0), emulator.WithExportDelay(0))
	ts := httptest.NewServer(sb)
	defer ts.Close()
	state := filepath.Join(t.TempDir(), "state")
	yaml := func(keep string) string {
		return fmt.Sprintf("api_url: %s\napi_key: %s\nuser_id: u1\nstate_dir: %s\nfield: contact.mobile\npoll_floor: 10ms\nexport_min: -1s\nkeep_journals: %s\n", ts.URL, secretKey, state, keep)
	}
	open := func(keep string) *wadeepbenthos.Processor {
		t.Helper()
		conf, err := wadeepbenthos.ConfigSpec().ParseYAML(yaml(keep), nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := wadeepbenthos.NewProcessor(conf, service.MockResources())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	journals := func() int {
		entries, _ := os.ReadDir(state)
		n := 0
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "batch-") {
				n++
			}
		}
		return n
	}
	p := open("1h")
	if _, err := p.ProcessBatch(context.Background(), phoneBatch("+41798284651")); err != nil {
		t.Fatal(err)
	}
	p.Close(context.Background())
	if journals() != 1 {
		t.Fatalf("%d journals after one batch, want 1", journals())
	}
	open("1h").Close(context.Background())
	if journals() != 1 {
		t.Fatal("a journal younger than keep_journals was deleted")
	}
	open("1ns").Close(context.Background())
	if journals() != 0 {
		t.Fatal("a finished journal older than keep_journals was kept")
	}
}
