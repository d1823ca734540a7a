// Package privacy holds wadeep's data-minimisation controls: numbers
// replaced by a keyed pseudonym (HMAC-SHA-256) and profile columns left out,
// in every output a job writes.
//
// A Policy is set once per job, on connector.PlanOptions, so that every
// table made from the plan (profiles, rejects, the enriched view, the
// plugin's stream) applies it. Start with LoadKey and NewPseudonymizer.
// docs/privacy.md says what the journal and the cache still keep.
package privacy
