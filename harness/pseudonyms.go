//go:build cgo

package harness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// metaPseudonymKey is the wadeep_meta key recording the KeyID of the key
// the database's numbers are pseudonyms under (privacy.Pseudonymizer);
// absent when they are in clear.
const metaPseudonymKey = "pseudonym_key"

// UseNumbers checks that the database's numbers are of the form a run
// writes and looks up: pseudonyms under the key keyID names
// (privacy.Pseudonymizer.KeyID), or numbers in clear for keyID "". A
// database holding no profile yet takes the run's form and records it.
// Mixing forms would make a cache miss every number (and pay for it
// again) and a profiles table unjoinable, so it is refused.
func (d *DB) UseNumbers(ctx context.Context, keyID string) error {
	var held string
	err := d.c.QueryRowContext(ctx, `SELECT value FROM wadeep_meta WHERE key = ?`, metaPseudonymKey).Scan(&held)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("harness: %s: %w", d.path, err)
	}
	if held == keyID {
		return nil
	}
	var n int64
	if err := d.c.QueryRowContext(ctx, `SELECT count(*) FROM profiles`).Scan(&n); err != nil {
		return fmt.Errorf("harness: %s: %w", d.path, err)
	}
	if n > 0 {
		switch {
		case held == "":
			return fmt.Errorf("harness: %s holds numbers in clear (written without --pseudonymize): a pseudonymised run cannot add to it or look numbers up in it; use another file", d.path)
		case keyID == "":
			return fmt.Errorf("harness: %s holds pseudonymised numbers (key id %s): give --pseudonymize with the key it was written with, or use another file", d.path, held)
		default:
			return fmt.Errorf("harness: %s holds numbers pseudonymised with another key (key id %s, this run's %s): its pseudonyms would never match; use that key, or another file", d.path, held, keyID)
		}
	}
	if keyID == "" {
		return d.exec(ctx, `DELETE FROM wadeep_meta WHERE key = ?`, metaPseudonymKey)
	}
	return d.exec(ctx, `INSERT OR REPLACE INTO wadeep_meta VALUES (?, ?)`, metaPseudonymKey, keyID)
}
