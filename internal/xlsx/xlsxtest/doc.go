// Package xlsxtest writes hand-made workbooks for tests: the parts a test
// needs (MinimalParts, then edited), zipped in memory (Zip), with helpers for
// sheet XML, shared string tables and result-shaped sheets (ResultSheet).
//
// It is for the tests of internal/xlsx and arrowconv, which read such files
// to reach a corner of the reader that real writers rarely produce.
package xlsxtest
