// Package phone answers questions about E.164 numbers fast, from
// libphonenumber's metadata (github.com/nyaruka/phonenumbers), with the same
// answers as the library's slower calls.
//
// It is for the packages that touch every number of a file, and has two
// entry points:
//   - CountryOf.Lookup gives the ISO 3166-1 alpha-2 region of a number as
//     Parse then GetRegionCodeForNumber would, the metadata's patterns run as
//     lazily built DFAs (digitDFA) instead of backtracking regexps. arrowconv
//     derives the country column of each result row with it.
//   - Canonical.Valid accepts a value already in canonical E.164 without the
//     library's free-form parse: the fast path of connector's Normalizer,
//     which hands it every input value first.
//
// Nothing here is safe for concurrent use; give each goroutine its own.
// The package imports nothing of wadeep.
package phone
