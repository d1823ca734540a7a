package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
)

func TestHelpIsTheSameEverywhere(t *testing.T) {
	for _, cmd := range []string{"check", "submit", "convert", "status", "download", "emulate", "demo", "jobs"} {
		code, a, errA := cli(t, "", cmd, "-h")
		require.Equal(t, 0, code, errA)
		require.Empty(t, errA, "help goes to stdout")
		require.True(t, strings.HasPrefix(a, "Usage: wadeep "+cmd), a)
		code, b, _ := cli(t, "", "help", cmd)
		require.Equal(t, 0, code)
		code, c, _ := cli(t, "", cmd, "--help")
		require.Equal(t, 0, code)
		require.Equal(t, a, b, cmd)
		require.Equal(t, a, c, cmd)
	}
	code, top, _ := cli(t, "", "-h")
	require.Equal(t, 0, code)
	require.Contains(t, top, "wadeep check")
	require.Contains(t, top, "wadeep jobs")
	code, top2, _ := cli(t, "", "help")
	require.Equal(t, 0, code)
	require.Equal(t, top, top2)

	_, submit, _ := cli(t, "", "submit", "-h")
	_, check, _ := cli(t, "", "check", "-h")
	for _, f := range []string{"out", "rejects", "poll-floor", "parallel", "enrich"} {
		line := regexp.MustCompile(`(?m)^  -` + f + `\b`)
		require.NotRegexp(t, line, submit, "submit -h lists only the flags submit takes")
		require.Regexp(t, line, check)
	}
	require.Regexp(t, `(?m)^  -chunk-size `, submit)
}

func TestUnknownFlagIsOneLine(t *testing.T) {
	code, stdout, stderr := cli(t, "", "check", "--bogus", "x.txt")
	require.Equal(t, 2, code)
	require.Empty(t, stdout)
	require.Equal(t, 1, strings.Count(stderr, "\n"), stderr)
	require.Contains(t, stderr, "-bogus")
	require.Contains(t, stderr, `"wadeep check -h"`)

	code, _, stderr = cli(t, "", "nosuch")
	require.Equal(t, 2, code)
	require.Equal(t, 1, strings.Count(stderr, "\n"), stderr)
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version", "-version"} {
		code, stdout, _ := cli(t, "", arg)
		require.Equal(t, 0, code)
		require.Regexp(t, `^wadeep \S+, commit \S+`, stdout)
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		code, script, stderr := cli(t, "", "completion", sh)
		require.Equal(t, 0, code, stderr)
		require.Contains(t, script, "region", sh)
		require.Contains(t, script, "submit", sh)
	}
	_, bash, _ := cli(t, "", "completion", "bash")
	require.Regexp(t, `check\) opts="[^"]*--region`, bash)
	require.NotRegexp(t, `submit\) opts="[^"]*--out `, bash, "submit completes only its own flags")
	require.Regexp(t, `jobs\) opts="[^"]*--older-than`, bash)
	if path, err := exec.LookPath("bash"); err == nil {
		f := filepath.Join(t.TempDir(), "c.bash")
		require.NoError(t, os.WriteFile(f, []byte(bash), 0o600))
		out, err := exec.Command(path, "-n", f).CombinedOutput()
		require.NoError(t, err, "the bash script parses: %s", out)
		// What it offers after "wadeep jobs " and "wadeep jobs --f".
		out, err = exec.Command(path, "-c", `source "$1"; COMP_WORDS=(wadeep jobs ""); COMP_CWORD=2; _wadeep; echo "${COMPREPLY[*]}"; `+
			`COMP_WORDS=(wadeep jobs --f); COMP_CWORD=2; _wadeep; echo "${COMPREPLY[*]}"`, "bash", f).CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Equal(t, "rm prune\n--force --format\n", string(out))
	}
	_, fish, _ := cli(t, "", "completion", "fish")
	require.Contains(t, fish, "-a 'rm prune'")
	code, _, _ := cli(t, "", "completion", "tcsh")
	require.Equal(t, 2, code)
}

func TestCommandLinesThatCannotRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	require.NoError(t, os.WriteFile(in, []byte("+41798284651\n"), 0o600))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check", in, "--region", "XX"}, `region "XX" is not a known ISO 3166-1 alpha-2 code`},
		{[]string{"check", in, "--region", "UK"}, "the United Kingdom is GB"},
		{[]string{"check", in, "--out", filepath.Join(dir, "o.pdf")}, "o.pdf"},
		{[]string{"check", in, "--rejects", filepath.Join(dir, "r.doc")}, "r.doc"},
		{[]string{"check", dir}, "is a directory"},
	} {
		code, _, stderr := cli(t, "", append(c.args, "--api-key", "k", "--user-id", "u")...)
		require.Equal(t, 2, code, "%v: %s", c.args, stderr)
		require.Contains(t, stderr, c.want, c.args)
		require.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
		require.NotRegexp(t, `connector:|arrowconv:|sink:`, stderr, "no internal package names")
	}
}

func TestInputsThatAreNotWhatTheyClaim(t *testing.T) {
	dir := t.TempDir()
	blob := filepath.Join(dir, "blob.txt")
	b := make([]byte, 2000)
	for i := range b {
		b[i] = byte(i * 7)
	}
	require.NoError(t, os.WriteFile(blob, b, 0o600))
	rej := filepath.Join(dir, "rej.csv")
	code, _, stderr := cli(t, "", "check", blob, "--dry-run", "--rejects", rej)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "blob.txt: not a text file")
	require.Equal(t, 1, strings.Count(stderr, "\n"), stderr)
	require.NoFileExists(t, rej)

	empty := filepath.Join(dir, "empty.txt")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	code, _, stderr = cli(t, "", "check", empty, "--dry-run")
	require.Equal(t, 0, code)
	require.Contains(t, stderr, "no rows in "+empty)

	// CSV on stdin without --column: its header is seen and read.
	code, _, stderr = cli(t, "", "check", "-", "--dry-run")
	require.Equal(t, 0, code, stderr)
	code, _, stderr = cli(t, "Name;Mobile\nAda;+41798284651\nBea;+33612345678\n", "check", "-", "--dry-run")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, `-: numbers from column "Mobile"`)
	require.Contains(t, stderr, "distinct numbers to check: 2")
	code, _, stderr = cli(t, "Name;Email\nAda;a@example.com\n", "check", "-", "--dry-run")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "names no phone column; name it with --column")
}

func TestInterruptAndTimeoutSayWhatToDo(t *testing.T) {
	// A task that takes minutes: Ctrl-C (a cancelled context) exits 130
	// with what to do; --timeout says it gave up, exit 1.
	_, url := fastSandbox(t, emulator.WithSpeed(1), emulator.WithStartDelay(time.Hour))
	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	require.NoError(t, os.WriteFile(in, []byte("+41798284651\n+33612345678\n"), 0o600))
	args := []string{"check", in, "--api-url", url, "--api-key", emulator.DefaultAPIKey, "--user-id", "u",
		"--state", filepath.Join(dir, "s"), "--poll-floor", "10ms", "--out", filepath.Join(dir, "o.csv")}

	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(300 * time.Millisecond); cancel() }()
	var out, errb strings.Builder
	code := run(ctx, args, strings.NewReader(""), &out, &errb)
	require.Equal(t, 130, code, errb.String())
	require.Contains(t, errb.String(), "interrupted; rerun the same command to resume")
	require.NotContains(t, errb.String(), "context canceled")

	code, _, stderr := cli(t, "", append(args, "--timeout", "300ms")...)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "gave up after 300ms (--timeout)")
	require.NotContains(t, stderr, "deadline exceeded")
}
