// Package jsonl reads the flat JSON objects of a JSON lines file as text
// cells, keys in their order: how wadeep reads back its own .jsonl outputs
// and takes them as inputs.
package jsonl

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Object reads one flat JSON object: its keys in order and its values as
// text (strings as they are, numbers and booleans as written, null empty).
// A nested value is an error.
func Object(b []byte) (keys, vals []string, err error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("want a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, _ := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		var s string
		switch v := v.(type) {
		case nil:
		case string:
			s = v
		case json.Number:
			s = v.String()
		case bool:
			s = fmt.Sprint(v)
		default:
			return nil, nil, fmt.Errorf("key %q: want a string, number, boolean or null", key)
		}
		keys, vals = append(keys, key), append(vals, s)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("more than one JSON value on the line")
	}
	return keys, vals, nil
}
