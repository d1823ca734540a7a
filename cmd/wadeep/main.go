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
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
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
  wadeep sql [--db F] [--from F...] "Q"  SQL over a .duckdb output or over output files (DuckDB)
  wadeep jobs [rm ID... | prune]         list and delete the kept journals (profiles, task ids)
  wadeep demo                            the whole job on the built-in sandbox

  wadeep version                         print the version and commit
  wadeep completion bash|zsh|fish        print a shell completion script

Outputs are chosen by extension: .csv .jsonl .arrow .parquet .xlsx .duckdb.
Run "wadeep COMMAND -h" or "wadeep help COMMAND" for a command's flags.
Exit codes: 0 every input row accounted for, 1 a failed run, 2 a command
line that cannot run, 130 interrupted.
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

// commands maps each command to its run function.
var commands = map[string]func(context.Context, *cliEnv, []string) error{
	"check": cmdCheck, "convert": cmdConvert, "submit": cmdSubmit, "status": cmdStatus,
	"download": cmdDownload, "emulate": cmdEmulate, "demo": cmdDemo, "sql": cmdSQL, "jobs": cmdJobs,
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	env := &cliEnv{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 { // "wadeep help CMD" is "wadeep CMD -h"
			if _, ok := commands[args[1]]; ok || args[1] == "completion" {
				return run(ctx, []string{args[1], "-h"}, stdin, stdout, stderr)
			}
			fmt.Fprintf(stderr, "wadeep: no command %q (run \"wadeep help\")\n", args[1])
			return 2
		}
		fmt.Fprint(stdout, usage)
		return 0
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionLine())
		return 0
	case "completion":
		return report(ctx, stderr, name, cmdCompletion(ctx, env, args[1:]))
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "wadeep: unknown command %q (run \"wadeep help\")\n", name)
		return 2
	}
	return report(ctx, stderr, name, cmd(ctx, env, args[1:]))
}

// report prints a command's error as one line and gives the exit code: 0
// done, 1 a failed run, 2 a command line that cannot run, 130 interrupted.
func report(ctx context.Context, stderr io.Writer, name string, err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "wadeep %s: %s\n", name, userMessage(err))
		return 2
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		fmt.Fprintf(stderr, "wadeep %s: %s\n", name, userMessage(err))
		return 130
	default:
		fmt.Fprintf(stderr, "wadeep %s: %s\n", name, userMessage(err))
		return 1
	}
}

// packagePrefix is a library package's name at the start of an error or
// of a wrapped part of it: Go's convention for errors, noise to a person.
var packagePrefix = regexp.MustCompile(`(^|: |\()(connector|arrowconv|sink|xlsx|harness|plugin|emulator|privacy): `)

// userMessage is err as one line for a person: no internal package names,
// no line breaks (errors.Join puts them between its parts).
func userMessage(err error) string {
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	return packagePrefix.ReplaceAllString(msg, "$1")
}

// versionLine is the module version and the commit it was built from.
func versionLine() string {
	v, commit, modified := "(devel)", "unknown", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if modified {
		commit += " (modified)"
	}
	return fmt.Sprintf("wadeep %s, commit %s, %s", v, commit, runtime.Version())
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

// flagSet is a command's flags and what its help says.
type flagSet struct {
	*flag.FlagSet
	env    *cliEnv
	args   string          // the positional arguments, for the usage line
	hidden map[string]bool // registered but not this command's (see submit)
}

// newFlags returns a flag set that reports errors instead of exiting and
// prints nothing itself: parseFlags prints help on stdout, and a bad flag
// becomes one error line.
func newFlags(env *cliEnv, name, args string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, env: env, args: args}
}

// help prints the command's usage line and its flags.
func (fs *flagSet) help(w io.Writer) {
	fmt.Fprintf(w, "Usage: wadeep %s %s\n\nFlags:\n", fs.Name(), fs.args)
	out := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) {
		if !fs.hidden[f.Name] {
			out.Var(f.Value, f.Name, f.Usage)
		}
	})
	out.SetOutput(w)
	out.PrintDefaults()
}

// parseFlags parses flags that may come before or after the positional
// arguments ("wadeep check in.txt --out x.csv" works as users expect).
func parseFlags(fs *flagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.help(fs.env.stdout)
				return nil, err
			}
			return nil, usagef("%v (see \"wadeep %s -h\")", err, fs.Name())
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
