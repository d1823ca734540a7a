// Package arrowconv turns the upstream's result workbooks into Arrow record
// batches of the profile schema (see Schema), and owns that schema and the
// mapping from result headers to its columns.
//
// Start with OpenFile or NewReader: both return a *Reader, an
// array.RecordReader that streams a result file batch by batch in bounded
// memory. The upstream's skin_color column is dropped on read under any
// spelling of its header and never reaches a batch (docs/privacy.md).
//
// The workbook itself is read by internal/xlsx, the streaming XLSX engine
// whose errors and limits this package's ParseError, LimitError and options
// are; the country column is derived by internal/phone. What stays here is
// the profile: schema.go, header.go (result headers to columns), values.go
// (cell text to values), builder.go (rows to record batches), reader.go,
// rows.go and conform.go.
package arrowconv
