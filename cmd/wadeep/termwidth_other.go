//go:build !unix

package main

import "os"

// terminalWidth is 0 here: tables are not cut unless $COLUMNS says.
func terminalWidth(f *os.File) int { return 0 }
