package jsonl

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/wadeep/wadeep/internal/fuzzseed"
)

// FuzzObject reads arbitrary lines as flat JSON objects, seeded from
// testdata/objects.txt: what it accepts encoding/json accepts as an
// object, with a value per key that is what encoding/json reads for that
// key (its last occurrence), as text; an error is one line.
func FuzzObject(f *testing.F) {
	for _, s := range fuzzseed.Strings(f, "testdata/objects.txt") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys, vals, err := Object([]byte(s))
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("not one line: %q", err)
			}
			return
		}
		if len(keys) != len(vals) {
			t.Fatalf("%d keys, %d values", len(keys), len(vals))
		}
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if dec.Decode(&m) != nil || m == nil {
			t.Fatalf("Object accepted %q, which encoding/json refuses as an object", s)
		}
		last := map[string]string{}
		for i, k := range keys {
			last[k] = vals[i]
		}
		if len(last) != len(m) {
			t.Fatalf("keys %q, encoding/json's %v", keys, m)
		}
		for k, v := range m {
			want := ""
			switch v := v.(type) {
			case nil:
			case string:
				want = v
			case json.Number:
				want = v.String()
			case bool:
				want = strconv.FormatBool(v)
			default:
				t.Fatalf("Object accepted a nested value %q: %v", k, v)
			}
			if last[k] != want {
				t.Fatalf("key %q: %q, encoding/json reads %q", k, last[k], want)
			}
		}
	})
}

func TestObject(t *testing.T) {
	keys, vals, err := Object([]byte(`{"number":"+41","whatsapp":false,"age_min":25,"avatar":null}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"+41", "false", "25", ""}
	for i, k := range []string{"number", "whatsapp", "age_min", "avatar"} {
		if keys[i] != k || vals[i] != want[i] {
			t.Fatalf("got %q=%q, want %q=%q", keys[i], vals[i], k, want[i])
		}
	}
	if _, _, err := Object([]byte(`{"a":[1]}`)); err == nil {
		t.Fatal("a nested value is refused")
	}
}
