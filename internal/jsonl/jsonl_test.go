package jsonl

import (
	"encoding/json"
	"testing"
)

func FuzzObject(f *testing.F) {
	for _, s := range []string{`{"number":"+41798284651","whatsapp":true,"age_min":25,"avatar":null}`, `{}`, `{"a":{"b":1}}`, `[1]`, `{"a":1}{"b":2}`, `{"a":"\u00e9"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys, vals, err := Object([]byte(s))
		if err != nil {
			return
		}
		if len(keys) != len(vals) {
			t.Fatalf("%d keys, %d values", len(keys), len(vals))
		}
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil {
			t.Fatalf("Object accepted %q, which encoding/json refuses as an object", s)
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
