package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// cmdCompletion prints a completion script for bash, zsh or fish. The
// flags come from each command's own help, so the script cannot drift
// from the flags a command takes.
func cmdCompletion(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "completion", "bash|zsh|fish")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one shell: bash, zsh or fish")
	}
	flags := commandFlags(ctx)
	switch pos[0] {
	case "bash":
		return bashCompletion(env.stdout, flags)
	case "zsh":
		// zsh runs bash completions through bashcompinit.
		fmt.Fprintln(env.stdout, "autoload -U +X bashcompinit && bashcompinit")
		return bashCompletion(env.stdout, flags)
	case "fish":
		return fishCompletion(env.stdout, flags)
	}
	return usagef("shell %q: want bash, zsh or fish", pos[0])
}

var helpFlag = regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)`)

// commandFlags maps each command to its flags, as its help lists them.
func commandFlags(ctx context.Context) map[string][]string {
	out := map[string][]string{}
	for name := range commands {
		var help bytes.Buffer
		run(ctx, []string{name, "-h"}, strings.NewReader(""), &help, io.Discard)
		for _, m := range helpFlag.FindAllStringSubmatch(help.String(), -1) {
			out[name] = append(out[name], "--"+m[1])
		}
	}
	return out
}

func sortedCommands(flags map[string][]string) []string {
	names := []string{"help", "version", "completion"}
	for n := range flags {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// jobIDs lists the ids of the kept jobs, for completing "jobs rm".
const jobIDs = `wadeep jobs --format csv 2>/dev/null | tail -n +2 | cut -d, -f1`

func bashCompletion(w io.Writer, flags map[string][]string) error {
	var cases strings.Builder
	for _, n := range sortedCommands(flags) {
		f := flags[n]
		switch {
		case n == "jobs":
			// Its own commands, then the ids of the jobs to delete.
			fmt.Fprintf(&cases, `    jobs) opts=%q
      if [[ "$cur" != -* ]]; then
        if [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=($(compgen -W "rm prune" -- "$cur")); return; fi
        if [ "${COMP_WORDS[2]}" = rm ]; then COMPREPLY=($(compgen -W "$(%s)" -- "$cur")); return; fi
      fi ;;
`, strings.Join(f, " "), jobIDs)
		case len(f) > 0:
			fmt.Fprintf(&cases, "    %s) opts=%q ;;\n", n, strings.Join(f, " "))
		}
	}
	_, err := fmt.Fprintf(w, `# wadeep completion for bash: source <(wadeep completion bash)
_wadeep() {
  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W %q -- "$cur"))
    return
  fi
  case "$cmd" in
%s    completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")); return ;;
    help) COMPREPLY=($(compgen -W %q -- "$cur")); return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _wadeep wadeep
`, strings.Join(sortedCommands(flags), " "), cases.String(), strings.Join(sortedCommands(flags), " "))
	return err
}

func fishCompletion(w io.Writer, flags map[string][]string) error {
	var b strings.Builder
	b.WriteString("# wadeep completion for fish: wadeep completion fish | source\n")
	cmds := sortedCommands(flags)
	fmt.Fprintf(&b, "complete -c wadeep -f -n '__fish_use_subcommand' -a '%s'\n", strings.Join(cmds, " "))
	for _, n := range cmds {
		for _, f := range flags[n] {
			fmt.Fprintf(&b, "complete -c wadeep -n '__fish_seen_subcommand_from %s' -l %s\n", n, strings.TrimPrefix(f, "--"))
		}
	}
	b.WriteString("complete -c wadeep -f -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n")
	b.WriteString("complete -c wadeep -f -n '__fish_seen_subcommand_from jobs; and not __fish_seen_subcommand_from rm prune' -a 'rm prune'\n")
	fmt.Fprintf(&b, "complete -c wadeep -f -n '__fish_seen_subcommand_from jobs; and __fish_seen_subcommand_from rm' -a '(%s)'\n", jobIDs)
	_, err := io.WriteString(w, b.String())
	return err
}
