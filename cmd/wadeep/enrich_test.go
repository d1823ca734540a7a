package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/wadeep/wadeep/emulator"
)

const crmCSV = "Name;Mobile;Email\n" +
	"Anna;079 828 46 51;anna@example.ch\n" +
	"Ben;+33612345678;ben@example.fr\n" +
	"Cleo;+41 79 828 46 51;cleo@example.ch\n" +
	"Dan;not a phone;dan@example.com\n" +
	";;\n" +
	"Eve;+4915123456789;\n" +
	"Finn;;finn@example.com\n"

// readBack reads an output file of any format into rows of text, a null or
// empty cell as "".
func readBack(t *testing.T, path string) []map[string]string {
	t.Helper()
	var rows []map[string]string
	fromRecords := func(next func() (arrow.RecordBatch, bool)) {
		for rec, ok := next(); ok; rec, ok = next() {
			for i := 0; i < int(rec.NumRows()); i++ {
				r := map[string]string{}
				for c, f := range rec.Schema().Fields() {
					if col := rec.Column(c); col.IsValid(i) {
						r[f.Name] = col.ValueStr(i)
					} else {
						r[f.Name] = ""
					}
				}
				rows = append(rows, r)
			}
		}
	}
	switch filepath.Ext(path) {
	case ".csv":
		return readCSV(t, path)
	case ".jsonl":
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var m map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
			r := map[string]string{}
			for k, v := range m {
				if v != nil {
					r[k] = fmt.Sprint(v)
				} else {
					r[k] = ""
				}
			}
			rows = append(rows, r)
		}
		require.NoError(t, sc.Err())
	case ".arrow":
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		r, err := ipc.NewFileReader(f)
		require.NoError(t, err)
		defer r.Close()
		i := 0
		fromRecords(func() (arrow.RecordBatch, bool) {
			if i == r.NumRecords() {
				return nil, false
			}
			rec, err := r.RecordBatch(i)
			require.NoError(t, err)
			i++
			return rec, true
		})
	case ".parquet":
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		pf, err := file.NewParquetReader(f)
		require.NoError(t, err)
		defer pf.Close()
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
		require.NoError(t, err)
		rr, err := fr.GetRecordReader(context.Background(), nil, nil)
		require.NoError(t, err)
		defer rr.Release()
		fromRecords(func() (arrow.RecordBatch, bool) {
			if !rr.Next() {
				return nil, false
			}
			return rr.RecordBatch(), true
		})
	case ".xlsx":
		f, err := excelize.OpenFile(path)
		require.NoError(t, err)
		defer f.Close()
		cells, err := f.GetRows(f.GetSheetList()[0])
		require.NoError(t, err)
		for _, c := range cells[1:] {
			r := map[string]string{}
			for i, h := range cells[0] {
				r[h] = ""
				if i < len(c) {
					r[h] = c[i]
				}
			}
			rows = append(rows, r)
		}
	default:
		t.Fatalf("no reader for %s", path)
	}
	return rows
}

func TestCheckEnrichEveryFormat(t *testing.T) {
	sb, url := fastSandbox(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "crm.csv")
	require.NoError(t, os.WriteFile(in, []byte(crmCSV), 0o600))
	state := filepath.Join(dir, "state")
	for i, ext := range []string{".parquet", ".csv", ".jsonl", ".arrow", ".xlsx"} {
		t.Run(ext, func(t *testing.T) {
			out := filepath.Join(dir, "crm_enriched"+ext)
			code, stdout, stderr := cli(t, "", "check", in, "--column", "Mobile", "--region", "CH", "--enrich", "--out", out,
				"--api-url", url, "--api-key", emulator.DefaultAPIKey, "--user-id", "u1", "--state", state, "--poll-floor", "10ms", "--export-min", "0")
			require.Equal(t, 0, code, stderr)
			require.Empty(t, stdout)
			require.Contains(t, stderr, "rows in: 7; profiles out: 3")
			if i > 0 {
				require.Contains(t, stderr, "charged calls: 0", "the job resumes from its journal")
			}
			rows := readBack(t, out)
			require.Len(t, rows, 7, "one row per input row")
			type row struct{ Name, Mobile, Email, File, Row, Number, Reason string }
			var got []row
			for _, r := range rows {
				got = append(got, row{r["Name"], r["Mobile"], r["Email"], r["input_file"], r["input_row"], r["number"], r["reject_reason"]})
				require.NotContains(t, r, "skin_color")
				if n := r["number"]; n != "" {
					p := emulator.Profile(n)
					if p.Failed {
						require.Equal(t, "failed", r["status"])
					} else {
						require.Equal(t, "checked", r["status"])
						require.Equal(t, p.Avatar, r["avatar"])
						require.Equal(t, p.WhatsApp, strings.EqualFold(r["whatsapp"], "true"))
					}
				} else {
					require.Empty(t, r["status"])
				}
			}
			require.Equal(t, []row{
				{"Anna", "079 828 46 51", "anna@example.ch", in, "2", "+41798284651", ""},
				{"Ben", "+33612345678", "ben@example.fr", in, "3", "+33612345678", ""},
				{"Cleo", "+41 79 828 46 51", "cleo@example.ch", in, "4", "+41798284651", ""},
				{"Dan", "not a phone", "dan@example.com", in, "5", "", "not a number"},
				{"", "", "", in, "6", "", "blank"},
				{"Eve", "+4915123456789", "", in, "7", "+4915123456789", ""},
				{"Finn", "", "finn@example.com", in, "8", "", "empty"},
			}, got)
			require.NotContains(t, outputText(t, out), "skin")
		})
	}
	require.Equal(t, 1, len(sb.Tasks()), "one task for all the runs")
}

func TestCheckEnrichRefusesStdin(t *testing.T) {
	sb, url := fastSandbox(t)
	dir := t.TempDir()
	code, _, stderr := cli(t, "+41798284651\n", "check", "-", "--enrich", "--out", filepath.Join(dir, "o.csv"),
		"--api-url", url, "--api-key", emulator.DefaultAPIKey, "--user-id", "u1", "--state", filepath.Join(dir, "s"))
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, "stdin (-) cannot be read twice")
	require.Zero(t, sb.Stats().Charged)
	_, err := os.Stat(filepath.Join(dir, "o.csv"))
	require.ErrorIs(t, err, os.ErrNotExist)

	code, _, stderr = cli(t, "", "submit", "x.txt", "--enrich")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "--enrich: not used by submit")
}
