package sink

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Format is an output file format.
type Format string

// The supported formats.
const (
	CSV     Format = "csv"     // .csv: header row, RFC 4180 quoting
	JSONL   Format = "jsonl"   // .jsonl, .ndjson: one JSON object per line
	Arrow   Format = "arrow"   // .arrow, .ipc, .feather: Arrow IPC file (Feather v2)
	Parquet Format = "parquet" // .parquet: compressed, Arrow schema stored
	XLSX    Format = "xlsx"    // .xlsx: one sheet, typed cells
)

// ErrUnknownFormat is wrapped by the errors of FormatFromPath and New for a
// format this package does not write.
var ErrUnknownFormat = errors.New("unknown output format")

// extensions maps lower-case file extensions to formats.
var extensions = map[string]Format{
	".csv":     CSV,
	".jsonl":   JSONL,
	".ndjson":  JSONL,
	".arrow":   Arrow,
	".ipc":     Arrow,
	".feather": Arrow,
	".parquet": Parquet,
	".xlsx":    XLSX,
}

const supportedExts = ".csv, .jsonl, .ndjson, .arrow, .ipc, .feather, .parquet, .xlsx"

// FormatFromPath returns the format for path's extension, ignoring case.
func FormatFromPath(path string) (Format, error) {
	ext := filepath.Ext(path)
	if ext == "" {
		return "", fmt.Errorf("sink: %w: %q has no file extension (supported: %s)", ErrUnknownFormat, path, supportedExts)
	}
	if f, ok := extensions[strings.ToLower(ext)]; ok {
		return f, nil
	}
	return "", fmt.Errorf("sink: %w %q for %q (supported: %s)", ErrUnknownFormat, ext, path, supportedExts)
}

func (f Format) valid() bool {
	switch f {
	case CSV, JSONL, Arrow, Parquet, XLSX:
		return true
	}
	return false
}
