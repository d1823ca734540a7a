package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/wadeep/wadeep/connector"
)

// checkFlags are the flags of check and submit.
type checkFlags struct {
	api          apiFlags
	out, rejects string
	column       string
	format       string
	region       string
	state        string
	chunkSize    int
	parallel     int
	dryRun       bool
	resubmitLost bool
	timeout      time.Duration
	pollFloor    time.Duration
	shard        string
}

func (f *checkFlags) register(fs *flag.FlagSet) {
	f.api.register(fs)
	fs.StringVar(&f.out, "out", "", "output file, format by extension: .csv .jsonl .arrow .parquet .xlsx (default: CSV on stdout)")
	fs.StringVar(&f.rejects, "rejects", "", "file for the rows not checked (file, row, value, reason), format by extension")
	fs.StringVar(&f.column, "column", "", "the column holding the numbers (default: detected by header, or the only column)")
	fs.StringVar(&f.format, "input-format", "", "input format when the extension does not say: txt, csv, xlsx, arrow or parquet")
	fs.StringVar(&f.region, "region", "", "country (ISO 3166-1 alpha-2, e.g. CH) for numbers written in national format")
	fs.StringVar(&f.state, "state", "", "journal directory; rerunning the same command resumes (default: a directory per job under the user's state dir)")
	fs.IntVar(&f.chunkSize, "chunk-size", connector.DefaultChunkSize, "numbers per upload file (one task each)")
	fs.IntVar(&f.parallel, "parallel", 2, "tasks in flight at once")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the chunks, numbers and the least charged calls, calling nothing")
	fs.BoolVar(&f.resubmitLost, "resubmit-lost", false, "upload again chunks whose task creation answer was lost (the upstream may charge them twice)")
	fs.DurationVar(&f.timeout, "timeout", 0, "give up after this long (0: never); the journal stays resumable")
	fs.StringVar(&f.shard, "shard", "", "take share K of N (\"K/N\") of the input, by number hash: N workers with the same input need no coordination")
	fs.DurationVar(&f.pollFloor, "poll-floor", connector.DefaultPoll.Floor, "least wait between two status calls of a task")
}

func (f *checkFlags) plan(env *cliEnv, inputs []string) (*connector.Plan, error) {
	if len(inputs) == 0 {
		return nil, usagef("no INPUT given (a .txt or .csv file, or - for stdin)")
	}
	switch {
	case f.chunkSize <= 0:
		return nil, usagef("--chunk-size %d: want a positive number", f.chunkSize)
	case f.parallel <= 0:
		return nil, usagef("--parallel %d: want a positive number", f.parallel)
	case f.pollFloor <= 0:
		return nil, usagef("--poll-floor %s: want a positive duration", f.pollFloor)
	case f.timeout < 0:
		return nil, usagef("--timeout %s: want a positive duration, or 0 for none", f.timeout)
	}
	shard, err := connector.ParseShard(f.shard)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	ins, closeInputs, err := openInputs(env, inputs, f.column, f.format)
	if err != nil {
		return nil, err
	}
	defer closeInputs()
	return connector.NewPlan(ins, connector.PlanOptions{Region: f.region, ChunkSize: f.chunkSize, Shard: shard})
}

// jobRecord names this job for its journal.
func (f *checkFlags) jobRecord(c *connector.Client, userID string, inputs []string, p *connector.Plan) connector.JobRecord {
	hashes := make([]string, len(p.Chunks))
	for i, ch := range p.Chunks {
		hashes[i] = ch.Hash
	}
	return connector.JobRecord{APIURL: c.BaseURL(), UserID: userID, Inputs: inputs, Region: strings.ToUpper(f.region), ChunkSize: f.chunkSize, Shard: f.shard, Numbers: len(p.Numbers), Chunks: hashes}
}

// setup is what check and submit do first: apply --timeout, read the
// inputs into a plan, and make the client. With --dry-run it prints the plan
// instead and returns no client.
func (f *checkFlags) setup(ctx context.Context, env *cliEnv, inputs []string) (context.Context, context.CancelFunc, *connector.Plan, *connector.Client, error) {
	cancel := context.CancelFunc(func() {})
	if f.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
	}
	plan, err := f.plan(env, inputs)
	if err != nil || f.dryRun {
		if err == nil {
			printDryRun(env, plan)
		}
		cancel()
		return ctx, nil, nil, nil, err
	}
	client, err := f.api.client(env)
	if err != nil {
		cancel()
		return ctx, nil, nil, nil, err
	}
	return ctx, cancel, plan, client, nil
}

// openJournal opens the journal of this job: --state, or the job's own
// directory under the user's state dir.
func (f *checkFlags) openJournal(env *cliEnv, client *connector.Client, inputs []string, plan *connector.Plan) (*connector.Journal, error) {
	job := f.jobRecord(client, f.api.userIDFrom(env), inputs, plan)
	dir, err := f.stateDir(job)
	if err != nil {
		return nil, err
	}
	return connector.OpenJournal(dir, job)
}

// stateDir is --state, or a directory named after the job's identity (API,
// user and chunk contents), so that rerunning the same command finds it.
func (f *checkFlags) stateDir(job connector.JobRecord) (string, error) {
	if f.state != "" {
		return f.state, nil
	}
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no --state given and no home directory: %w", err)
		}
		base = filepath.Join(home, ".local", "state")
	}
	h := sha256.New()
	fmt.Fprintln(h, job.APIURL, job.UserID, job.ChunkSize, job.Region, job.Shard)
	for _, c := range job.Chunks {
		fmt.Fprintln(h, c)
	}
	return filepath.Join(base, "wadeep", "jobs", hex.EncodeToString(h.Sum(nil))[:16]), nil
}

func cmdCheck(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "check", "[flags] INPUT...")
	var f checkFlags
	f.register(fs)
	inputs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	out, err := newProfileOut(f.out, env.stdout, env.stderr)
	if err != nil {
		return err
	}
	if !f.dryRun { // a dry run writes nothing
		if err := checkOutput("--out", f.out, true); err != nil {
			return err
		}
		if err := checkOutput("--rejects", f.rejects, false); err != nil {
			return err
		}
	}
	ctx, cancel, plan, client, err := f.setup(ctx, env, inputs)
	if err != nil || client == nil {
		return err
	}
	defer cancel()
	if f.rejects != "" {
		if err := writeRejects(f.rejects, plan.Rejects); err != nil {
			return fmt.Errorf("writing rejects: %w", err)
		}
	}
	journal, err := f.openJournal(env, client, inputs, plan)
	if err != nil {
		return err
	}
	defer journal.Close()
	dir := journal.Dir()

	prog := newProgressPrinter(env.stderr)
	poll := connector.DefaultPoll
	poll.Floor = f.pollFloor
	run := &connector.Job{
		Client: client, Plan: plan, Journal: journal,
		Out: out.write, Progress: prog.update,
		Parallel: f.parallel, Poll: poll, ResubmitLost: f.resubmitLost,
	}
	start := time.Now()
	sum, err := run.Run(ctx)
	prog.finish()
	if err != nil {
		out.abort()
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return fmt.Errorf("%w; the journal in %s keeps what is done: rerun the same command to resume", err, dir)
		}
		return fmt.Errorf("%w (journal: %s)", err, dir)
	}
	if err := out.close(); err != nil {
		return fmt.Errorf("writing %s: %w", f.out, err)
	}
	printSummary(env, plan, sum, time.Since(start))
	if got := int64(len(plan.Numbers)); sum.Profiles != got {
		return fmt.Errorf("%d distinct numbers were uploaded but %d profile rows came back: the counts do not reconcile", got, sum.Profiles)
	}
	return nil
}

func printDryRun(env *cliEnv, p *connector.Plan) {
	w := env.stderr
	fmt.Fprintf(w, "dry run: nothing was called\n")
	for _, c := range p.Chunks {
		o := p.Origin[c.First]
		fmt.Fprintf(w, "  chunk %d: %d numbers, from %s row %d, sha256 %s\n", c.Index+1, len(c.Numbers), o.File, o.Row, c.Hash[:12])
	}
	fmt.Fprintf(w, "rows in: %d; distinct numbers to check: %d; %s\n", p.Rows, len(p.Numbers), rejectLine(p))
	fmt.Fprintf(w, "least charged calls: %d (one creation and at least one status call per task)\n", 2*len(p.Chunks))
}

func rejectLine(p *connector.Plan) string {
	by := p.Rejected()
	if len(by) == 0 {
		return fmt.Sprintf("rejected: 0; blank: %d", p.Blank)
	}
	var parts []string
	for r, n := range by {
		parts = append(parts, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(parts)
	return fmt.Sprintf("rejected: %d (%s); blank: %d", len(p.Rejects), strings.Join(parts, ", "), p.Blank)
}

func printSummary(env *cliEnv, p *connector.Plan, s *connector.Summary, took time.Duration) {
	w := env.stderr
	fmt.Fprintf(w, "rows in: %d; profiles out: %d (%d checked, %d failed upstream); %s\n",
		p.Rows, s.Profiles, s.Profiles-s.Failed, s.Failed, rejectLine(p))
	fmt.Fprintf(w, "tasks: %d (%d created now, %d from an earlier run); charged calls: %d (%d creations, %d status); downloads: %d; refused or failed calls (free): %d\n",
		s.Tasks, s.Created, s.Resumed, s.Calls.Charged(), s.Calls.Creates, s.Calls.Statuses, s.Calls.Downloads, s.Calls.Errors)
	if s.Dropped > 0 {
		fmt.Fprintf(w, "left out %d result rows for numbers that were not uploaded or came twice\n", s.Dropped)
	}
	if s.FixedPolls > 0 {
		fmt.Fprintf(w, "polling every 5 s would have made about %d status calls\n", s.FixedPolls)
	}
	fmt.Fprintf(w, "took %s\n", took.Round(time.Millisecond))
}
