package connector

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wadeep/wadeep/internal/fsx"
)

// MaxResultBytes bounds a downloaded result file; the upstream's largest,
// a 1M-number task, is ~30 MB.
const MaxResultBytes = 1 << 30

// Download fetches a task's result into w and returns the bytes written.
// It is not charged. The link is untrusted (see newDownloadClient); a 403 or
// 404 means it expired and unwraps to ErrForbidden or ErrNotFound.
func (c *Client) Download(ctx context.Context, taskID, resultURL string, w io.Writer) (int64, error) {
	op := "download result"
	u, err := url.Parse(resultURL)
	if err != nil {
		return 0, &APIError{Op: op, TaskID: taskID, Err: fmt.Errorf("%w: unparsable result link", ErrProtocol)}
	}
	if err := checkResultURL(u, c.loopback); err != nil {
		return 0, &APIError{Op: op, TaskID: taskID, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, &APIError{Op: op, TaskID: taskID, Err: err}
	}
	resp, err := c.download.do(req)
	if err != nil {
		c.calls.addError(0)
		return 0, &APIError{Op: op, TaskID: taskID, Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The body of a refused link is not quoted: it comes from whatever
		// host the link named.
		c.calls.addError(resp.StatusCode)
		return 0, &APIError{Op: op, TaskID: taskID, StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, MaxResultBytes+1))
	switch {
	case err == nil && n > MaxResultBytes:
		c.calls.addError(0)
		return n, &APIError{Op: op, TaskID: taskID, Err: fmt.Errorf("%w: the result file is over %d bytes", ErrProtocol, int64(MaxResultBytes))}
	case err == nil && resp.ContentLength >= 0 && n != resp.ContentLength:
		err = fmt.Errorf("got %d of %d bytes", n, resp.ContentLength)
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			// Stopped by the caller (Ctrl-C, a timeout), not cut: say so
			// in a way errors.Is sees, so that the run reports an
			// interruption rather than a failed download.
			return n, &APIError{Op: op, TaskID: taskID, Err: fmt.Errorf("download stopped: %w", cerr)}
		}
		c.calls.addError(0)
		return n, &APIError{Op: op, TaskID: taskID, Err: fmt.Errorf("%w: download cut: %v", ErrTransport, redactURLError(err))}
	}
	c.calls.addDownload()
	return n, nil
}

// DownloadPolicy bounds the fetching of one result file. Downloads are
// free; a fresh link for one that expired costs a status call, so fresh
// links are bounded by count and spaced out, and the whole fetch by time.
// Defaults apply field by field (see DefaultDownloadPolicy).
type DownloadPolicy struct {
	// Budget is how long the tries at one result may go on (0: 30 min).
	Budget time.Duration
	// Refreshes is the most fresh links asked for one result, each a
	// charged status call (0: 10).
	Refreshes int
	// RefreshGap is the least time between two status calls for fresh
	// links (0: 5 s).
	RefreshGap time.Duration
}

// DefaultDownloadPolicy is the download policy of a new job.
func DefaultDownloadPolicy() DownloadPolicy {
	return DownloadPolicy{Budget: 30 * time.Minute, Refreshes: 10, RefreshGap: 5 * time.Second}
}

func (p DownloadPolicy) withDefaults() DownloadPolicy {
	d := DefaultDownloadPolicy()
	if p.Budget <= 0 {
		p.Budget = d.Budget
	}
	if p.Refreshes <= 0 {
		p.Refreshes = d.Refreshes
	}
	if p.RefreshGap <= 0 {
		p.RefreshGap = d.RefreshGap
	}
	return p
}

// FetchResult downloads the result workbook of an exported task to path,
// through a private temp file beside it, verified as a whole zip before it
// is renamed into place. A cut or damaged transfer is fetched again after a
// backoff, cut short to what is left of the link's life once that is known
// (a refused link shows it). A refused link (expired) is replaced by a fresh
// one from a status call, which is progress, not a failed try: the backoff
// starts over. Fresh links and time are bounded separately by p. Never
// creates a task.
func (c *Client) FetchResult(ctx context.Context, task *Task, path string, p DownloadPolicy) error {
	return c.fetchResult(ctx, task, path, p, c.clock)
}

// fetchResult is FetchResult with the waits on clk: a job's own clock.
func (c *Client) fetchResult(ctx context.Context, task *Task, path string, p DownloadPolicy, clk Clock) error {
	p = p.withDefaults()
	if task.ResultURL == "" {
		return fmt.Errorf("task %s is %s: it offers no result link yet", task.ID, task.Status)
	}
	start := clk.Now()
	link, linkAt := task.ResultURL, start
	lastStatus := start                   // the answer that carried the link was just received
	var lifetime time.Duration            // the shortest a link was seen to live; 0 while unknown
	refreshes, tries, backoffs := 0, 0, 0 // backoffs: pauses since the last fresh link
	refresh := func() error {
		if refreshes >= p.Refreshes {
			return fmt.Errorf("the result link of task %s kept expiring: gave up after %d fresh links and %d tries over %s (rerun to try again: the task stays exported)",
				task.ID, refreshes, tries, clk.Now().Sub(start).Round(time.Second))
		}
		if wait := p.RefreshGap - clk.Now().Sub(lastStatus); wait > 0 {
			if err := clk.Sleep(ctx, wait); err != nil {
				return err
			}
		}
		refreshes++
		t, err := c.Task(ctx, task.ID)
		lastStatus = clk.Now()
		if err != nil {
			return err
		}
		if t.ResultURL == "" {
			return fmt.Errorf("the result link of task %s expired and the task no longer offers one (status %s)", task.ID, t.Status)
		}
		link, linkAt, backoffs = t.ResultURL, lastStatus, 0
		return nil
	}
	for {
		tries++
		err := c.fetchTo(ctx, task.ID, link, path)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		now := clk.Now()
		switch {
		case errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound):
			if age := now.Sub(linkAt); lifetime == 0 || age < lifetime {
				lifetime = age
			}
			if err := refresh(); err != nil {
				return err
			}
		case errors.Is(err, ErrTransport), errors.Is(err, ErrServer), errors.Is(err, ErrRateLimited), errors.Is(err, errBadZip):
			// Cut or damaged: fetch again after a pause, within the budget.
			wait := c.retry.backoff(backoffs, retryAfter(err))
			backoffs++
			if spent := now.Sub(start); spent+wait > p.Budget {
				return fmt.Errorf("result download of task %s: gave up after %d tries and %d fresh links over %s (rerun to try again: the task stays exported): %w",
					task.ID, tries, refreshes, spent.Round(time.Second), err)
			}
			if lifetime > 0 {
				// A pause the link would not outlive is cut short to what is
				// left of it (no charge); with nothing left, a fresh link is
				// asked for at once rather than after the pause.
				left := lifetime - now.Sub(linkAt)
				if left <= 0 {
					if err := refresh(); err != nil {
						return err
					}
					continue
				}
				wait = min(wait, left/2)
			}
			if err := clk.Sleep(ctx, wait); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

func retryAfter(err error) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.RetryAfter
	}
	return 0
}

// download fetches the task's result into the journal, verified.
func (j *Job) download(ctx context.Context, c Chunk, task *Task) (string, error) {
	final := strings.TrimSuffix(j.Journal.resultPath(c.Hash), ".arrow") + ".xlsx"
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return "", err
	}
	p := j.Download
	if p.RefreshGap <= 0 {
		p.RefreshGap = j.Poll.withDefaults().Floor
	}
	return final, j.Client.fetchResult(ctx, task, final, p, j.Clock)
}

var errBadZip = errors.New("result file is not a complete XLSX (zip) file")

// fetchTo downloads into a private temp file beside final and renames it
// into place once it verifies as a whole zip.
func (c *Client) fetchTo(ctx context.Context, taskID, link, final string) error {
	tmp, err := fsx.CreateTemp(filepath.Dir(final), ".download-", "") // swept by the journal if a kill leaves it
	if err != nil {
		return err
	}
	defer tmp.Discard() // a no-op after Commit
	_, derr := c.Download(ctx, taskID, link, tmp)
	if err := errors.Join(derr, tmp.Close()); err != nil {
		return err
	}
	if err := verifyZip(tmp.Name()); err != nil {
		return err
	}
	return tmp.Commit(final)
}

// verifyZip checks that path is a zip whose central directory is whole:
// a cut download fails here rather than halfway through parsing.
func verifyZip(path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadZip, err)
	}
	return zr.Close()
}
