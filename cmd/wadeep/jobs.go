package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wadeep/wadeep/connector"
)

// jobsUsage is the positional part of "wadeep jobs -h".
const jobsUsage = `[--format table|csv|json] | rm [--force] ID... | prune --older-than D [--dry-run] [--include-incomplete]

  wadeep jobs                        list the jobs whose journals are kept (they hold the
                                     profiles, personal data): id, started, size, state, inputs
  wadeep jobs rm ID...               delete jobs: their kept profiles and task ids
  wadeep jobs prune --older-than D   delete the jobs started more than D ago (30d, 12h, 1d12h)

A job whose tasks were paid for and not all downloaded is incomplete: deleting
it loses them, and rerunning it creates and pays for them again. prune keeps
such jobs unless --include-incomplete; rm deletes one only with --force.
A job a running wadeep holds is never deleted.`

// jobsFlags are the flags of jobs, rm and prune; each takes its own.
type jobsFlags struct {
	dir               string
	dirGiven          bool
	format            string
	force             bool
	olderThan         string
	dryRun            bool
	includeIncomplete bool
}

var jobsFlagsOf = map[string][]string{
	"":      {"jobs-dir", "format"},
	"rm":    {"jobs-dir", "force"},
	"prune": {"jobs-dir", "older-than", "dry-run", "include-incomplete"},
}

// cmdJobs lists and deletes the journals under the jobs directory.
func cmdJobs(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "jobs", jobsUsage)
	var f jobsFlags
	fs.StringVar(&f.dir, "jobs-dir", "", "the directory holding one journal directory per job (default: $XDG_STATE_HOME/wadeep/jobs, or ~/.local/state/wadeep/jobs, where check keeps them; for journals made with check --state DIR, DIR's parent)")
	fs.StringVar(&f.format, "format", "table", "list as a table (aligned, cut to the terminal's width), csv or json")
	fs.BoolVar(&f.force, "force", false, "rm: delete incomplete jobs too; their tasks paid for and not downloaded are lost, and a rerun creates and pays for them again")
	fs.StringVar(&f.olderThan, "older-than", "", "prune: delete the jobs that started more than this long ago (e.g. 30d, 12h, 1d12h)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "prune: say what would be deleted, delete nothing")
	fs.BoolVar(&f.includeIncomplete, "include-incomplete", false, "prune: delete incomplete jobs too (their tasks paid for and not downloaded are lost)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	sub := ""
	if len(pos) > 0 && (pos[0] == "rm" || pos[0] == "prune") {
		sub, pos = pos[0], pos[1:]
	}
	var stray []string
	fs.Visit(func(fl *flag.Flag) {
		ok := false
		for _, name := range jobsFlagsOf[sub] {
			ok = ok || name == fl.Name
		}
		if !ok {
			stray = append(stray, "--"+fl.Name)
		}
	})
	if len(stray) > 0 {
		what := sub
		if sub == "" {
			what = "the listing"
		}
		return usagef("%s: not a flag of %s (see \"wadeep jobs -h\")", strings.Join(stray, ", "), what)
	}
	f.dirGiven = f.dir != ""
	if !f.dirGiven {
		if f.dir, err = connector.DefaultJobsDir(); err != nil {
			return err
		}
	}
	switch sub {
	case "rm":
		return jobsRemove(env, f, pos)
	case "prune":
		if len(pos) > 0 {
			return usagef("prune takes no arguments, got %q (delete given jobs with \"wadeep jobs rm ID...\")", pos[0])
		}
		return jobsPrune(env, f, time.Now())
	}
	if len(pos) > 0 {
		return usagef("unknown jobs command %q: want rm or prune (see \"wadeep jobs -h\")", pos[0])
	}
	switch f.format {
	case "table", "csv", "json":
	default:
		return usagef("--format %q: want table, csv or json", f.format)
	}
	jobs, err := connector.ListJobs(f.dir)
	if err != nil {
		return err
	}
	switch f.format {
	case "csv":
		return jobsCSV(env.stdout, jobs)
	case "json":
		return jobsJSON(env.stdout, jobs)
	}
	if len(jobs) == 0 {
		fmt.Fprintf(env.stderr, "no jobs in %s\n", f.dir)
		return nil
	}
	return jobsTable(env.stdout, jobs, termWidth(env.stdout))
}

// seeIDs says how to list the ids of the jobs.
func (f jobsFlags) seeIDs() string {
	if !f.dirGiven {
		return `"wadeep jobs" lists them`
	}
	return fmt.Sprintf(`"wadeep jobs --jobs-dir %s" lists them`, f.dir)
}

func jobsRemove(env *cliEnv, f jobsFlags, ids []string) error {
	if len(ids) == 0 {
		return usagef("rm: want the ids of the jobs to delete (%s)", f.seeIDs())
	}
	jobs, err := connector.ListJobs(f.dir)
	if err != nil {
		return err
	}
	byID := map[string]connector.JobInfo{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	// Every id is checked before anything is deleted.
	var picked []connector.JobInfo
	for _, id := range ids {
		j, ok := byID[id]
		if !ok {
			return usagef("no job %q in %s (%s)", id, f.dir, f.seeIDs())
		}
		if j.Incomplete() && !f.force {
			return usagef("job %s is %s: deleting it loses the tasks paid for (a rerun creates and pays for them again); add --force to delete it anyway", id, incompleteWhy(j))
		}
		picked = append(picked, j)
	}
	var freed int64
	var failed []error
	for _, j := range picked {
		info, err := connector.RemoveJob(j.Dir, connector.RemoveOptions{Incomplete: f.force})
		switch {
		case errors.Is(err, connector.ErrInUse):
			failed = append(failed, fmt.Errorf("job %s is in use by a running wadeep (its lock %s is held): not deleted; let the run end or stop it, then delete it", j.ID, filepath.Join(j.Dir, "lock")))
			continue
		case errors.Is(err, connector.ErrIncomplete):
			return usageError{err.Error() + "; add --force to delete it anyway"}
		case err != nil:
			failed = append(failed, err)
			continue
		}
		freed += info.Size
		fmt.Fprintf(env.stderr, "deleted job %s (%s; %s)\n", info.ID, describeJob(info), humanBytes(info.Size))
	}
	if len(picked) > 1 {
		fmt.Fprintf(env.stderr, "deleted %s, freed %s\n", plural(len(picked)-len(failed), "job"), humanBytes(freed))
	}
	return errors.Join(failed...)
}

func jobsPrune(env *cliEnv, f jobsFlags, now time.Time) error {
	if f.olderThan == "" {
		return usagef("prune: want --older-than D (e.g. 30d: the jobs started more than 30 days ago)")
	}
	age, err := parseAge("--older-than", f.olderThan)
	if err != nil {
		return usageError{err.Error()}
	}
	jobs, err := connector.ListJobs(f.dir)
	if err != nil {
		return err
	}
	cutoff := now.Add(-age)
	var (
		deleted, keptIncomplete, keptInUse int
		freed                              int64
		failed                             []error
	)
	w := env.stderr
	for _, j := range jobs {
		if !j.Created.Before(cutoff) {
			continue
		}
		if j.InUse {
			keptInUse++
			fmt.Fprintf(w, "kept job %s: in use by a running wadeep\n", j.ID)
			continue
		}
		if j.Incomplete() && !f.includeIncomplete {
			keptIncomplete++
			fmt.Fprintf(w, "kept job %s: %s (--include-incomplete deletes it, and what was paid for)\n", j.ID, incompleteWhy(j))
			continue
		}
		if f.dryRun {
			deleted++
			freed += j.Size
			fmt.Fprintf(w, "would delete job %s (%s; %s)\n", j.ID, describeJob(j), humanBytes(j.Size))
			continue
		}
		info, err := connector.RemoveJob(j.Dir, connector.RemoveOptions{Incomplete: f.includeIncomplete})
		switch {
		case errors.Is(err, connector.ErrInUse):
			keptInUse++
			fmt.Fprintf(w, "kept job %s: in use by a running wadeep\n", j.ID)
			continue
		case errors.Is(err, connector.ErrIncomplete):
			keptIncomplete++
			fmt.Fprintf(w, "kept job %s: %s (--include-incomplete deletes it, and what was paid for)\n", j.ID, incompleteWhy(info))
			continue
		case err != nil:
			failed = append(failed, err)
			continue
		}
		deleted++
		freed += info.Size
		fmt.Fprintf(w, "deleted job %s (%s; %s)\n", info.ID, describeJob(info), humanBytes(info.Size))
	}
	line := fmt.Sprintf("deleted %s started more than %s ago, freed %s", plural(deleted, "job"), f.olderThan, humanBytes(freed))
	if f.dryRun {
		line = fmt.Sprintf("would delete %s started more than %s ago, freeing %s (dry run: nothing was deleted)", plural(deleted, "job"), f.olderThan, humanBytes(freed))
	}
	if keptIncomplete > 0 {
		line += fmt.Sprintf("; kept %s", plural(keptIncomplete, "incomplete job"))
	}
	if keptInUse > 0 {
		line += fmt.Sprintf("; kept %s in use", plural(keptInUse, "job"))
	}
	fmt.Fprintln(w, line)
	return errors.Join(failed...)
}

// incompleteWhy is "incomplete: 2 of 5 chunks downloaded, 3 tasks paid for
// and not downloaded", or why the journal could not be read.
func incompleteWhy(j connector.JobInfo) string {
	s := j.State()
	if j.Pending > 0 && j.Problem == "" {
		s += fmt.Sprintf(", %s paid for and not downloaded", plural(j.Pending, "task"))
	}
	return s
}

// describeJob is a job's inputs and start, for the lines that delete it.
func describeJob(j connector.JobInfo) string {
	in := strings.Join(j.Inputs, ", ")
	if in == "" {
		in = "no inputs recorded"
	}
	return fmt.Sprintf("%s; started %s; %s", in, j.Created.Local().Format("2006-01-02 15:04"), j.State())
}

// humanBytes is a size in B, kB, MB or GB (powers of 1000).
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n)/unit, "kB"
	for _, s := range []string{"MB", "GB", "TB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}

func jobsTable(w io.Writer, jobs []connector.JobInfo, width int) error {
	header := []string{"id", "started", "size", "state", "inputs"}
	rows := [][]string{header}
	var total int64
	for _, j := range jobs {
		total += j.Size
		rows = append(rows, []string{j.ID, j.Created.Local().Format("2006-01-02 15:04"), humanBytes(j.Size), j.State(), cutCell(strings.Join(j.Inputs, ", "), 60)})
	}
	writeTable(w, rows, []bool{false, false, true, false, false}, width) // size to the right
	_, err := fmt.Fprintf(w, "(%s, %s)\n", plural(len(jobs), "job"), humanBytes(total))
	return err
}

var jobsColumns = []string{"id", "started", "size_bytes", "state", "chunks", "downloaded", "kept", "pending", "in_use", "inputs", "dir"}

func jobsCSV(w io.Writer, jobs []connector.JobInfo) error {
	cw := csv.NewWriter(w)
	cw.Write(jobsColumns)
	for _, j := range jobs {
		cw.Write([]string{j.ID, j.Created.UTC().Format(time.RFC3339), strconv.FormatInt(j.Size, 10), j.State(),
			strconv.Itoa(j.Chunks), strconv.Itoa(j.Downloaded), strconv.Itoa(j.Kept), strconv.Itoa(j.Pending),
			strconv.FormatBool(j.InUse), strings.Join(j.Inputs, "; "), j.Dir})
	}
	cw.Flush()
	return cw.Error()
}

// jobJSON is one job in --format json.
type jobJSON struct {
	ID         string   `json:"id"`
	Started    string   `json:"started"`
	SizeBytes  int64    `json:"size_bytes"`
	State      string   `json:"state"`
	Incomplete bool     `json:"incomplete"`
	Chunks     int      `json:"chunks"`
	Downloaded int      `json:"downloaded"`
	Kept       int      `json:"kept"`
	Pending    int      `json:"pending"`
	InUse      bool     `json:"in_use"`
	Inputs     []string `json:"inputs"`
	APIURL     string   `json:"api_url,omitempty"`
	Dir        string   `json:"dir"`
}

func jobsJSON(w io.Writer, jobs []connector.JobInfo) error {
	out := make([]jobJSON, 0, len(jobs))
	for _, j := range jobs {
		inputs := j.Inputs
		if inputs == nil {
			inputs = []string{}
		}
		out = append(out, jobJSON{ID: j.ID, Started: j.Created.UTC().Format(time.RFC3339), SizeBytes: j.Size, State: j.State(),
			Incomplete: j.Incomplete(), Chunks: j.Chunks, Downloaded: j.Downloaded, Kept: j.Kept, Pending: j.Pending,
			InUse: j.InUse, Inputs: inputs, APIURL: connector.RedactURL(j.APIURL), Dir: j.Dir})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// forgetUsage is check --forget's help.
const forgetUsage = "once every output is written and closed, delete the profiles the journal keeps (personal data) and keep its task ids: rerunning this job then creates no task but pays one status call per chunk to download them again (never done when the run fails: the journal stays resumable)"

// forgetResults is check --forget, after a run whose outputs are all
// written and closed.
func forgetResults(env *cliEnv, j *connector.Journal) error {
	f, err := j.Forget()
	if err != nil {
		return fmt.Errorf("the outputs are written, but %w", err)
	}
	fmt.Fprintf(env.stderr, "forgot the kept results in %s (%s, %s); rerunning this job will pay %s again to download them (no task is created again)\n",
		j.Dir(), plural(f.Chunks, "chunk"), humanBytes(f.Bytes), plural(f.Chunks, "status call"))
	return nil
}
