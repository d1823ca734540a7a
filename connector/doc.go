// Package connector runs phone numbers through the upstream bulk API: it turns
// input tables into upload files (normalised, deduplicated, chunked), creates
// and watches tasks without paying twice, downloads their results and streams
// them as Arrow record batches of the arrowconv profile schema.
//
// Start with Run for the whole job, or with Client for the single calls.
// Every input row is accounted for: a profile row or a Reject.
package connector
