// Package xlsx is the streaming XLSX engine under arrowconv: it reads the
// cell text of a workbook's first worksheet, row by row, in bounded memory
// and at close to the speed of inflating the sheet.
//
// It is for code inside wadeep that needs the rows of a workbook from the
// network; users reach it through arrowconv (Reader for result files, Rows
// for other tables), which maps rows to the profile schema. This package
// knows nothing of profiles, headers or Arrow.
//
// Start with Open, which resolves the first worksheet and the shared string
// table through the package's relationships and returns a *Rows iterator
// (Next, Row, Err, Close). Under it:
//   - archive.go: the zip container, inflated with klauspost/compress, with
//     the size and compression-ratio limits and each entry's CRC checked;
//   - workbook.go: the workbook's relationships and sheets;
//   - sst.go: the shared string table, held in one buffer;
//   - xmlscan.go: a forward-only XML byte scanner over one reused buffer;
//   - sheet.go: sheet XML to rows of cell text (spans into an arena);
//   - rows.go and pipe.go: the row source, with inflating, scanning and the
//     caller on separate goroutines when there is more than one CPU.
//
// Every bound against hostile input is in Limits (DefaultLimits), and every
// error the rows report is a *ParseError naming the sheet, row and cell;
// errors.Is matches ErrMalformed, ErrNoSheet and ErrLimit (*LimitError).
package xlsx
