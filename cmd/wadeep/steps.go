package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/internal/fsx"
	"github.com/wadeep/wadeep/privacy"
)

// cmdConvert converts a result file downloaded elsewhere, or reads back a
// profile table wadeep wrote, in any of its output formats.
func cmdConvert(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "convert", "RESULTS.xlsx|PROFILES.{csv,jsonl,arrow,parquet,xlsx} [--out FILE]")
	outPath := fs.String("out", "", "output file, format by extension: .csv .jsonl .arrow .parquet .xlsx (default: CSV on stdout)")
	taskID := fs.String("task", "", "task id to stamp into task_id (optional; result workbooks only)")
	lenient := fs.Bool("allow-missing-columns", false, "let documented result columns be absent (they come out null; result workbooks only)")
	var priv privacyFlags
	priv.register(fs.FlagSet)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one input file, got %d arguments", len(pos))
	}
	pol, err := priv.policy(nil)
	if err != nil {
		return err
	}
	if err := checkOutput("--out", *outPath, true); err != nil {
		return err
	}
	out, err := newProfileOut(*outPath, env.stdout, env.stderr)
	if err != nil {
		return err
	}
	private := &privateOut{pol: pol, write: out.write}
	ok, n, err := readProfileTable(pos[0], private.add)
	switch {
	case err != nil:
		out.abort()
		return err
	case ok:
		if *taskID != "" || *lenient {
			out.abort()
			return usagef("%s is a profile table wadeep wrote: --task and --allow-missing-columns apply to result workbooks only", pos[0])
		}
		if err := out.close(); err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "read back %s from %s\n", plural(int(n), "profile row"), pos[0])
		return nil
	}
	opts := []arrowconv.Option{arrowconv.WithTask(*taskID, time.Time{})}
	if *lenient {
		opts = append(opts, arrowconv.WithMissingColumns())
	}
	n, err = convertFile(pos[0], *outPath, env, pol, opts...)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "converted %d profile rows from %s\n", n, pos[0])
	return nil
}

func convertFile(in, outPath string, env *cliEnv, pol privacy.Policy, opts ...arrowconv.Option) (int64, error) {
	out, err := newProfileOut(outPath, env.stdout, env.stderr)
	if err != nil {
		return 0, err
	}
	private := &privateOut{pol: pol, write: out.write}
	r, err := arrowconv.OpenFile(in, opts...)
	if err != nil {
		return 0, err
	}
	defer r.Release()
	var n int64
	for r.Next() {
		n += r.RecordBatch().NumRows()
		if err := private.add(r.RecordBatch()); err != nil {
			out.abort()
			return n, err
		}
	}
	if err := r.Err(); err != nil {
		out.abort()
		return n, err
	}
	return n, out.close()
}

// cmdSubmit creates the tasks of a job, recorded in its journal, and prints
// their ids; a later "wadeep check" with the same flags picks them up.
func cmdSubmit(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "submit", "[flags] INPUT...")
	var f checkFlags
	f.register(fs.FlagSet)
	fs.hidden = map[string]bool{"out": true, "rejects": true, "poll-floor": true, "parallel": true, "enrich": true, "export-min": true, "pass-through": true, "pseudonymize": true, "drop": true}
	inputs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	// submit shares check's flags so that a later check finds the same
	// journal; those about outputs and polling have nothing to act on here.
	var unused []string
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "out", "rejects", "poll-floor", "parallel", "enrich", "pseudonymize", "drop":
			unused = append(unused, "--"+fl.Name)
		}
	})
	if len(unused) > 0 {
		return usagef("%s: not used by submit (it only creates the tasks; check writes the outputs)", strings.Join(unused, ", "))
	}
	ctx, cancel, plan, client, err := f.setup(ctx, env, inputs)
	if err != nil || client == nil {
		return err
	}
	defer cancel()
	journal, err := f.openJournal(env, client, inputs, plan)
	if err != nil {
		return err
	}
	defer journal.Close()
	dir := journal.Dir()
	run := &connector.Job{Client: client, Plan: plan, Journal: journal, ResubmitLost: f.resubmitLost}
	ids, err := run.Submit(ctx)
	for i, id := range ids {
		if id != "" {
			fmt.Fprintf(env.stdout, "%d\t%s\n", i+1, id)
		}
	}
	if err != nil {
		if stopped := f.stopped(ctx, err, dir); stopped != nil {
			return stopped
		}
		return fmt.Errorf("%w (journal: %s)", err, dir)
	}
	fmt.Fprintf(env.stderr, "%s for %s; journal: %s (charged calls: %d)\n", plural(len(ids), "task"), plural(len(plan.Numbers), "number"), dir, client.Calls().Snapshot().Charged())
	return nil
}

// cmdStatus prints one task's state as JSON.
func cmdStatus(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "status", "[flags] TASK")
	var api apiFlags
	api.register(fs.FlagSet)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one TASK id")
	}
	_, t, err := api.task(ctx, env, pos[0])
	if err != nil {
		return err
	}
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(taskView(t))
}

func taskView(t *connector.Task) map[string]any {
	m := map[string]any{
		"task_id": t.ID, "user_id": t.UserID, "status": t.Status,
		"total": t.Total, "success": t.Success, "failure": t.Failure,
		"created_at": t.CreatedAt, "updated_at": t.UpdatedAt,
	}
	if t.ResultURL != "" {
		m["result_url"] = connector.RedactURL(t.ResultURL)
	}
	return m
}

// downloadTempPrefix names download's private temporary directories.
const downloadTempPrefix = "wadeep-download-"

// cmdDownload fetches a task's result and converts it to the profile table,
// in the format of the output's extension.
func cmdDownload(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "download", "[flags] TASK --out FILE")
	var api apiFlags
	api.register(fs.FlagSet)
	outPath := fs.String("out", "", "output file, format by extension: .csv .jsonl .arrow .parquet .xlsx")
	var priv privacyFlags
	priv.register(fs.FlagSet)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *outPath == "" {
		return usagef("want one TASK id and --out FILE")
	}
	pol, err := priv.policy(nil)
	if err != nil {
		return err
	}
	if err := checkOutput("--out", *outPath, true); err != nil {
		return err
	}
	c, t, err := api.task(ctx, env, pos[0])
	if err != nil {
		return err
	}
	if t.Status != connector.StatusExported {
		return fmt.Errorf("task %s is %s (%d of %d done); its result is not ready", t.ID, t.Status, t.Done(), t.Total)
	}
	// The workbook goes to a private directory (0700, its files 0600) and
	// is deleted once converted, or when the fetch fails or is interrupted;
	// the fetch is the job's own (retries, fresh links, zip check). Those a
	// hard kill left, idle for an hour (a live fetch writes its file, or
	// converts within seconds), are swept: they hold the column wadeep never
	// carries (docs/privacy.md).
	fsx.SweepStaleDirs(os.TempDir(), time.Hour, downloadTempPrefix)
	tmpDir, err := os.MkdirTemp("", downloadTempPrefix)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmpDir)
	xlsx := filepath.Join(tmpDir, "result.xlsx")
	if err := c.FetchResult(ctx, t, xlsx, connector.DownloadPolicy{}); err != nil {
		return err
	}
	// Converted whatever the extension, .xlsx included: the upstream's own
	// file holds a column wadeep never carries (docs/privacy.md).
	n, err := convertFile(xlsx, *outPath, env, pol, arrowconv.WithTask(t.ID, t.UpdatedAt))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "converted %d profile rows of task %s to %s\n", n, t.ID, *outPath)
	return nil
}
