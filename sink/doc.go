// Package sink writes Arrow record batches to files as they arrive: CSV, JSON
// lines, Arrow IPC, Parquet and XLSX. It is for code that holds a stream of
// profile batches (or any table of the same simple types) and wants them on
// disk without holding the whole table in memory.
//
// Start with Create, which picks the format from the file extension and makes
// the file appear only when Close succeeds:
//
//	w, err := sink.Create("profiles.parquet", schema)
//	if err != nil {
//		return err
//	}
//	defer w.Abort() // no-op after a successful Close
//	for rdr.Next() {
//		if err := w.Write(rdr.RecordBatch()); err != nil {
//			return err
//		}
//	}
//	if err := rdr.Err(); err != nil {
//		return err
//	}
//	return w.Close()
//
// New writes to any io.Writer (stdout, a network stream) in a named Format;
// its Abort stops the output without a footer. Code that only writes
// batches should accept the Writer interface, which both implement.
//
// Every format accepts the same column types: utf8 (also large and view),
// dictionary of utf8, bool, signed and unsigned integers, float32/64 and
// timestamps. The text formats write dictionaries as their values,
// timestamps as RFC 3339 in UTC with the unit's precision
// (2024-10-19T18:53:43.141Z for milliseconds) and nulls as empty (CSV) or
// null (JSON). Arrow and Parquet keep the schema, field metadata included.
//
// A column holding race or ethnicity inferred from a face is never written:
// skin_color, under any spelling, is never written by any sink; the writer
// refuses the schema before it writes anything. See docs/privacy.md.
package sink
