package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/harness"
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
	exportMin    time.Duration
	passThrough  string
	shard        string
	enrich       bool
	cache        string
	maxAge       string
	priv         privacyFlags

	dbs      dbSet
	cacheDB  *harness.DB
	cacheUse connector.CacheUse
}

func (f *checkFlags) register(fs *flag.FlagSet) {
	f.api.register(fs)
	fs.StringVar(&f.out, "out", "", "output file, format by extension: .csv .jsonl .arrow .parquet .xlsx .duckdb (default: CSV on stdout)")
	fs.StringVar(&f.cache, "cache", "", "a DuckDB file of profiles (e.g. an earlier --out FILE.duckdb): fresh numbers are served from it, only the rest uploaded, and new results merged back")
	fs.StringVar(&f.maxAge, "max-age", "30d", "with --cache: how old a profile may be and still be served (e.g. 30d, 12h, 1d12h)")
	fs.StringVar(&f.rejects, "rejects", "", "file for the rows not checked (file, row, value, reason), format by extension")
	fs.StringVar(&f.passThrough, "pass-through", "", "upstream result columns beyond the profile schema to keep, comma-separated, in lower snake case (others are left out and named)")
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
	fs.DurationVar(&f.pollFloor, "poll-floor", connector.DefaultPollPolicy().Floor, "least wait between two status calls of a task")
	fs.DurationVar(&f.exportMin, "export-min", connector.DefaultPollPolicy().ExportMin, "least time the upstream takes to export a result after its last number (0 for an instant sandbox)")
	f.priv.register(fs)
	fs.BoolVar(&f.enrich, "enrich", false, "write every input row with its number's profile (input columns, input_file, input_row, profile, reject_reason) to --out; reads the inputs twice")
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
	case f.exportMin < 0:
		return nil, usagef("--export-min %s: want a duration, or 0 for none", f.exportMin)
	case f.timeout < 0:
		return nil, usagef("--timeout %s: want a positive duration, or 0 for none", f.timeout)
	}
	shard, err := connector.ParseShard(f.shard)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	if _, err := connector.NewNormalizer(f.region); err != nil {
		return nil, usageError{"--region: " + err.Error()}
	}
	var maxAge time.Duration
	if f.cache != "" {
		if !isDuckDB(f.cache) {
			return nil, usagef("--cache %s: want a .duckdb file", f.cache)
		}
		if maxAge, err = parseMaxAge(f.maxAge); err != nil {
			return nil, usageError{err.Error()}
		}
		if err := f.openCache(); err != nil {
			return nil, err
		}
		if err := f.priv.useDB(context.Background(), "--cache", f.cacheDB); err != nil {
			return nil, err
		}
	}
	ins, closeInputs, err := openInputs(env, inputs, f.column, f.format)
	if err != nil {
		return nil, err
	}
	defer closeInputs()
	plan, err := connector.NewPlan(ins, connector.PlanOptions{Region: f.region, ChunkSize: f.chunkSize, Shard: shard, Privacy: f.priv.pol})
	if err != nil || f.cacheDB == nil {
		return plan, err
	}
	if f.cacheUse, err = plan.UseCache(context.Background(), f.cacheDB, maxAge, time.Now()); err != nil {
		return nil, fmt.Errorf("--cache %s: %w", f.cache, err)
	}
	return plan, nil
}

// openCache opens --cache before anything is charged: a locked or damaged
// file stops the run here. A dry run does not create a missing cache.
func (f *checkFlags) openCache() error {
	if f.dryRun {
		if _, err := os.Stat(f.cache); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	d, err := f.dbs.get("--cache", f.cache)
	f.cacheDB = d
	return err
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
	if err == nil {
		printColumns(env, plan)
		if plan.Rows == 0 {
			fmt.Fprintf(env.stderr, "no rows in %s\n", strings.Join(inputs, ", "))
		}
	}
	if err != nil || f.dryRun {
		if err == nil {
			printDryRun(env, plan)
			f.printCache(env)
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
// directory under the user's state dir, so that rerunning the same command
// finds it.
func (f *checkFlags) openJournal(env *cliEnv, client *connector.Client, inputs []string, plan *connector.Plan) (*connector.Journal, error) {
	dir := f.state
	if dir == "" {
		var err error
		if dir, err = connector.DefaultStateDir(plan, client); err != nil {
			return nil, err
		}
	}
	return connector.OpenJournal(dir, plan, client)
}

// stopped says, for a run that ctx stopped, why in words a person reads:
// interrupted, or --timeout ran out. It is nil for any other error.
func (f *checkFlags) stopped(ctx context.Context, err error, dir string) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && f.timeout > 0:
		return fmt.Errorf("gave up after %s (--timeout); the journal in %s keeps what is done: rerun the same command to resume", f.timeout, dir)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return interrupted{fmt.Sprintf("interrupted; rerun the same command to resume (the journal in %s keeps what is done)", dir)}
	}
	return nil
}

// interrupted is a run stopped by Ctrl-C or SIGTERM: exit code 130.
type interrupted struct{ msg string }

func (e interrupted) Error() string        { return e.msg }
func (e interrupted) Is(target error) bool { return target == context.Canceled }

// pollPolicy is the policy the flags ask for; the rest is the default.
func (f *checkFlags) pollPolicy() connector.PollPolicy {
	p := connector.PollPolicy{Floor: f.pollFloor, ExportMin: f.exportMin}
	if f.exportMin == 0 {
		p.ExportMin = -1 // the policy's "none"
	}
	return p
}

func cmdCheck(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "check", "[flags] INPUT...")
	var f checkFlags
	f.register(fs.FlagSet)
	forget := fs.Bool("forget", false, forgetUsage)
	inputs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	defer f.dbs.close()
	if _, err := f.priv.policy(splitList(f.passThrough)); err != nil {
		return err
	}
	out, err := newProfileOut(f.out, env.stdout, env.stderr)
	if err != nil {
		return err
	}
	enr, err := f.enrichOut(env, inputs)
	if err != nil {
		return err
	}
	if !f.dryRun { // a dry run writes nothing
		if isDuckDB(f.out) {
			// Opened now, so that a locked or damaged file stops the run
			// before anything is charged.
			if out.db, err = f.dbs.get("--out", f.out); err != nil {
				return err
			}
			if err := f.priv.useDB(ctx, "--out", out.db); err != nil {
				return err
			}
			if enr != nil {
				enr.db = out.db
			}
		} else if err := checkOutput("--out", f.out, true); err != nil {
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
		if err := writeRejects(f.rejects, plan); err != nil {
			return fmt.Errorf("writing rejects: %w", err)
		}
	}
	if out.db != nil {
		if err := writeDBRejects(ctx, out.db, plan); err != nil {
			return fmt.Errorf("writing rejects to %s: %w", f.out, err)
		}
	}
	journal, err := f.openJournal(env, client, inputs, plan)
	if err != nil {
		return err
	}
	defer journal.Close()
	dir := journal.Dir()

	prog := newProgressPrinter(env.stderr)
	poll := f.pollPolicy()
	run := &connector.Job{
		Client: client, Plan: plan, Journal: journal,
		Out: out.write, Progress: prog.update,
		Parallel: f.parallel, Poll: poll, ResubmitLost: f.resubmitLost,
		PassThrough: splitList(f.passThrough),
	}
	if f.cacheDB != nil {
		run.Cache = f.cacheDB
	}
	schema, err := run.Schema()
	if err != nil {
		return usageError{err.Error()}
	}
	if enr != nil {
		defer enr.release()
		if err := enr.start(schema); err != nil {
			return err
		}
		run.Out = enr.add
		if out.db != nil { // the profiles table as well as the enriched one
			if err := out.open(schema); err != nil {
				return err
			}
			run.Out = func(rec arrow.RecordBatch) error {
				if err := enr.add(rec); err != nil {
					return err
				}
				return out.write(rec)
			}
		}
	} else if err := out.open(schema); err != nil {
		return err
	}
	var back *writeBack
	if f.cacheDB != nil && f.cacheDB != out.db {
		pw, err := f.cacheDB.NewProfileWriter(ctx, schema)
		if err != nil {
			return fmt.Errorf("--cache %s: %w", f.cache, err)
		}
		back = &writeBack{pw}
		defer back.w.Abort() // after Close, a no-op
		toOut := run.Out
		run.Out = func(rec arrow.RecordBatch) error {
			if err := back.write(rec); err != nil {
				return fmt.Errorf("--cache %s: %w", f.cache, err)
			}
			return toOut(rec)
		}
	} else if f.cacheDB != nil { // --out is the cache: its own rows are there
		toOut := run.Out
		run.Out = func(rec arrow.RecordBatch) error {
			if fromCache(rec) && enr == nil {
				return nil
			}
			if fromCache(rec) {
				return enr.add(rec)
			}
			return toOut(rec)
		}
	}
	run.ChunkDone = func(c connector.ChunkDone) error {
		if back != nil {
			if err := back.w.EndChunk(taskRow(c)); err != nil {
				return fmt.Errorf("--cache %s: %w", f.cache, err)
			}
		}
		return out.chunkDone(c)
	}
	start := time.Now()
	sum, err := run.Run(ctx)
	prog.finish()
	if err != nil {
		out.abort()
		if stopped := f.stopped(ctx, err, dir); stopped != nil {
			return stopped
		}
		return fmt.Errorf("%w (journal: %s)", err, dir)
	}
	if back != nil {
		if err := back.w.Close(); err != nil {
			return fmt.Errorf("--cache %s: %w", f.cache, err)
		}
	}
	if enr != nil {
		if out.db != nil {
			err = out.close()
		}
		if err == nil {
			err = enr.write(ctx, env, plan)
		}
	} else {
		err = out.close()
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", f.out, err)
	}
	printSummary(env, plan, sum, time.Since(start))
	f.printCache(env)
	if len(sum.LeftOut) > 0 {
		fmt.Fprintf(env.stderr, "result columns left out: %s (keep them with --pass-through %s)\n", strings.Join(sum.LeftOut, ", "), strings.Join(sum.LeftOut, ","))
	}
	if got := int64(len(plan.Numbers)); sum.Profiles != got {
		return fmt.Errorf("%d distinct numbers were uploaded but %d profile rows came back: the counts do not reconcile", got, sum.Profiles)
	}
	if *forget { // only now: every output is written and closed
		return forgetResults(env, journal)
	}
	return nil
}

// printCache says what --cache spared.
func (f *checkFlags) printCache(env *cliEnv) {
	if f.cache == "" {
		return
	}
	u := f.cacheUse
	fmt.Fprintf(env.stderr, "cache %s: %s served (checked within %s, not failed), not uploaded; saves %s, at least %s\n",
		f.cache, plural(u.Numbers, "number"), f.maxAge, plural(u.Tasks, "task"), plural(int(u.Calls), "charged call"))
}

func printDryRun(env *cliEnv, p *connector.Plan) {
	w := env.stderr
	fmt.Fprintf(w, "dry run: nothing was called\n")
	for _, c := range p.Chunks {
		o := p.Origin(c.First)
		fmt.Fprintf(w, "  chunk %d: %s, from %s row %d, sha256 %s\n", c.Index+1, plural(len(c.Numbers), "number"), o.File, o.Row, c.Hash[:12])
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
	fmt.Fprintf(w, "tasks: %d (%d created now, %d from an earlier run); charged calls: %d (%s, %d status); downloads: %d; refused or failed calls (free): %d\n",
		s.Tasks, s.Created, s.Resumed, s.Calls.Charged(), plural(int(s.Calls.Creates), "creation"), s.Calls.Statuses, s.Calls.Downloads, s.Calls.Errors)
	if s.Dropped > 0 {
		fmt.Fprintf(w, "left out %s for numbers that were not uploaded or came twice\n", plural(int(s.Dropped), "result row"))
	}
	if s.FixedPolls > 0 {
		fmt.Fprintf(w, "polling every 5 s would have made about %s\n", plural(int(s.FixedPolls), "status call"))
	}
	fmt.Fprintf(w, "took %s\n", took.Round(time.Millisecond))
}

// splitList reads a comma-separated flag value; "" is none.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// printColumns says which column of each table the numbers were read from,
// and which other columns could have held them.
func printColumns(env *cliEnv, p *connector.Plan) {
	for _, in := range p.Inputs {
		if len(in.Fields) < 2 || in.Column >= len(in.Fields) {
			continue
		}
		line := fmt.Sprintf("%s: numbers from column %q", in.Name, in.Fields[in.Column].Name)
		if len(in.Candidates) > 0 {
			line += fmt.Sprintf(" (not from %s: name another with --column)", quoteList(in.Candidates))
		}
		fmt.Fprintln(env.stderr, line)
	}
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// plural is "1 number", "2 numbers".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
