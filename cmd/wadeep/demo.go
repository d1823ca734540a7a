package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/wadeep/wadeep/emulator"
)

// cmdDemo runs the whole job on the built-in sandbox: it writes an input of
// numbers (valid ones from several countries, national formats, duplicates,
// junk), serves the sandbox on loopback, runs check on it and prints the
// first profiles and the summary.
func cmdDemo(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "demo", "[flags]")
	n := fs.Int("numbers", 2000, "how many input lines to generate")
	keep := fs.String("dir", "", "keep the input and outputs in this directory (default: a temporary one, removed)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	dir := *keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "wadeep-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	input := filepath.Join(dir, "numbers.txt")
	if err := os.WriteFile(input, demoInput(*n), 0o644); err != nil {
		return err
	}

	// Fast enough to watch: the real service does ~11.5 numbers/s.
	sandbox := emulator.New(emulator.WithSpeed(1500), emulator.WithStartDelay(time.Second), emulator.WithExportDelay(time.Second))
	url, stop, err := sandbox.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(env.stderr, "demo: sandbox of the upstream API at %s; input %d lines (%s)\n\n", url, *n, input)

	out := filepath.Join(dir, "profiles.csv")
	rejects := filepath.Join(dir, "rejects.csv")
	checkArgs := []string{
		"--api-url", url, "--api-key", emulator.DefaultAPIKey, "--user-id", "demo",
		"--region", "CH", "--chunk-size", "1000", "--poll-floor", "1s",
		"--state", filepath.Join(dir, "state"), "--out", out, "--rejects", rejects, input,
	}
	fmt.Fprintf(env.stderr, "$ wadeep check %s\n", strings.Join(redactArgs(checkArgs), " "))
	if err := cmdCheck(ctx, env, checkArgs); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout)
	if err := printHead(env, out, 12); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout)
	if err := printHead(env, rejects, 6); err != nil {
		return err
	}
	st := sandbox.Stats()
	fmt.Fprintf(env.stdout, "\nthe sandbox counted %s created and %s: %s\n", plural(st.Creates, "task"), plural(st.StatusCalls, "status call"), plural(st.Charged, "charged call"))
	if *keep != "" {
		fmt.Fprintf(env.stdout, "files kept in %s\n", dir)
	}
	return nil
}

func redactArgs(args []string) []string {
	out := append([]string(nil), args...)
	for i := 0; i+1 < len(out); i++ {
		if out[i] == "--api-key" {
			out[i+1] = "***"
		}
	}
	return out
}

// printHead prints the first rows of a CSV file as an aligned table.
func printHead(env *cliEnv, path string, rows int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	var table [][]string
	total := -1
	for {
		rec, err := r.Read()
		if err != nil {
			break
		}
		total++
		if len(table) <= rows {
			table = append(table, append([]string(nil), rec...))
		}
	}
	widths := map[int]int{}
	for _, rec := range table {
		for i, c := range rec {
			widths[i] = max(widths[i], min(len(c), 28))
		}
	}
	fmt.Fprintf(env.stdout, "%s (%d rows):\n", filepath.Base(path), total)
	for _, rec := range table {
		var b strings.Builder
		for i, c := range rec {
			if len(c) > 28 {
				c = c[:27] + "…"
			}
			fmt.Fprintf(&b, "%-*s  ", widths[i], c)
		}
		fmt.Fprintln(env.stdout, strings.TrimRight(b.String(), " "))
	}
	return nil
}

// demoInput makes n input lines: mostly valid mobile numbers of several
// countries in E.164, some Swiss numbers in national format (for --region
// CH), duplicates, invalid values and blank lines.
func demoInput(n int) []byte {
	regions := []string{"CH", "DE", "FR", "GB", "US", "BR", "IN", "NG", "ID", "MX", "IT", "ES"}
	var b strings.Builder
	var seen []string
	for i := 0; i < n; i++ {
		switch {
		case i%50 == 7:
			b.WriteString("\n")
		case i%40 == 3:
			b.WriteString("not a number\n")
		case i%33 == 5:
			b.WriteString("+12\n")
		case i%25 == 9 && len(seen) > 0:
			b.WriteString(seen[(i*7)%len(seen)] + "\n")
		case i%20 == 11:
			// Swiss mobile, national format: 079 123 45 67
			fmt.Fprintf(&b, "079 %03d %02d %02d\n", (i*37)%1000, (i*11)%100, (i*13)%100)
		default:
			region := regions[i%len(regions)]
			ex := phonenumbers.GetExampleNumberForType(region, phonenumbers.MOBILE)
			if ex == nil {
				continue
			}
			nn := ex.GetNationalNumber()
			// vary the last digits, keep the length and the prefix
			nn = nn - nn%10000 + uint64((i*7919)%10000)
			ex.NationalNumber = &nn
			e := phonenumbers.Format(ex, phonenumbers.E164)
			seen = append(seen, e)
			b.WriteString(e + "\n")
		}
	}
	return []byte(b.String())
}
