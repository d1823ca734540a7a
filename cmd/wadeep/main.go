// Command wadeep checks phone numbers against the WhatsApp Bulk Number
// Checker Deep API and writes the profiles as typed tables. Run
// "wadeep help" for the commands; README.md has the whole reference.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/wadeep/wadeep/plugin"
)

const usage = `wadeep: run phone numbers through the WhatsApp Bulk Number Checker Deep API

Usage:
  wadeep check [flags] INPUT...          check numbers end to end (INPUT: .txt .csv .tsv .xlsx .arrow .parquet or -)
  wadeep convert RESULTS.xlsx --out FILE  convert a result file downloaded elsewhere
  wadeep submit [flags] INPUT...         create the tasks only; print their ids
  wadeep status [flags] TASK             print a task's state (a charged call)
  wadeep download [flags] TASK --out F   download a task's result as the profile table
  wadeep emulate [--addr 127.0.0.1:8080] serve the offline sandbox of the upstream API
  wadeep demo                            the whole job on the built-in sandbox

Outputs are chosen by extension: .csv .jsonl .arrow .parquet .xlsx.
Run "wadeep COMMAND -h" for a command's flags.
`

func main() {
	if code, ok := plugin.ServeIfPlugin(); ok { // started by a go-plugin host (docs/plugin.md)
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	env := &cliEnv{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	var err error
	switch args[0] {
	case "check":
		err = cmdCheck(ctx, env, args[1:])
	case "convert":
		err = cmdConvert(ctx, env, args[1:])
	case "submit":
		err = cmdSubmit(ctx, env, args[1:])
	case "status":
		err = cmdStatus(ctx, env, args[1:])
	case "download":
		err = cmdDownload(ctx, env, args[1:])
	case "emulate":
		err = cmdEmulate(ctx, env, args[1:])
	case "demo":
		err = cmdDemo(ctx, env, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "wadeep: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "wadeep %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "wadeep %s: %v\n", args[0], err)
		return 1
	}
}

// usageError is a command line that cannot be run as written.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// cliEnv is the process's outside world, injectable for tests.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(env *cliEnv, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: wadeep %s %s\n\nFlags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses flags that may come before or after the positional
// arguments ("wadeep check in.txt --out x.csv" works as users expect).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
