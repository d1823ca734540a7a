package emulator

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// ResultSheet is the name of the result file's only sheet.
const ResultSheet = "Sheet1"

// The result columns in the order the upstream documents them. The last is
// sent because the upstream sends it; the connector drops skin_color and never
// carries it.
var resultHeader = [...]string{"Number", "whatsapp", "avatar", "age", "category", "gender", "hair_color", "skin_color"} // the connector drops skin_color

// ResultHeader returns the header row of a result file.
func ResultHeader() []string { return slices.Clone(resultHeader[:]) }

// WriteResults writes the result file the sandbox would serve for numbers,
// under DefaultFailureRate: the header, then one row per number that does not
// fail, in input order. It is handy for making test fixtures.
func WriteResults(w io.Writer, numbers []string) error {
	buf, err := resultFile(numbers, DefaultFailureRate)
	if err != nil {
		return err
	}
	_, err = buf.WriteTo(w)
	return err
}

// resultFile builds the XLSX in memory: a download needs its full length up
// front to announce it and to cut it midway.
func resultFile(lines []string, failureRate float64) (*bytes.Buffer, error) {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter(ResultSheet)
	if err != nil {
		return nil, fmt.Errorf("emulator: result file: %w", err)
	}
	header := make([]any, len(resultHeader))
	for i, h := range resultHeader {
		header[i] = h
	}
	if err := sw.SetRow("A1", header); err != nil {
		return nil, fmt.Errorf("emulator: result file: %w", err)
	}
	row := 2
	cells := make([]any, len(resultHeader))
	for _, line := range lines {
		p, dropped := synth(line, failureRate) // dropped is skin_color, which the connector drops
		if p.Failed {
			continue
		}
		whatsapp := "no"
		if p.WhatsApp {
			whatsapp = "yes"
		}
		cells[0], cells[1] = p.Number, whatsapp
		cells[2], cells[3], cells[4] = cell(p.Avatar), ageCell(p.Age), cell(p.Category)
		cells[5], cells[6], cells[7] = cell(p.Gender), cell(p.HairColor), cell(dropped)
		if err := sw.SetRow("A"+strconv.Itoa(row), cells); err != nil {
			return nil, fmt.Errorf("emulator: result file: %w", err)
		}
		row++
	}
	if err := sw.Flush(); err != nil {
		return nil, fmt.Errorf("emulator: result file: %w", err)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("emulator: result file: %w", err)
	}
	return buf, nil
}

// cell leaves empty fields out of the sheet, as sparse files do, so readers
// meet short rows.
func cell(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ageCell writes a single age as a number, the way spreadsheets store it.
func ageCell(age string) any {
	if n, err := strconv.Atoi(age); err == nil {
		return n
	}
	return cell(age)
}
