package connector

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
)

// OpenJournal opens (or starts) the journal in dir of the job that runs
// plan through client. The job's identity (API URL, user, inputs, options
// and chunk contents) is taken from them, so that a journal of another job
// is refused with what differs instead of being mixed in. The caller closes
// the journal; one process at a time holds it.
func OpenJournal(dir string, plan *Plan, client *Client) (*Journal, error) {
	if plan == nil || client == nil {
		return nil, fmt.Errorf("connector: OpenJournal needs the plan and the client")
	}
	return openJournal(dir, jobRecordOf(plan, client))
}

func jobRecordOf(plan *Plan, client *Client) JobRecord {
	hashes := make([]string, len(plan.Chunks))
	for i, c := range plan.Chunks {
		hashes[i] = c.Hash
	}
	names := make([]string, len(plan.Inputs))
	for i, in := range plan.Inputs {
		names[i] = in.Name
	}
	o := plan.Options
	return JobRecord{APIURL: client.BaseURL(), UserID: client.userID, Inputs: names, Region: o.Region,
		ChunkSize: o.ChunkSize, Shard: o.Shard.String(), Numbers: len(plan.Numbers), Chunks: hashes}
}

// DefaultStateDir is the job's own journal directory under the user's state
// directory: $XDG_STATE_HOME/wadeep/jobs/ID, or ~/.local/state/wadeep/jobs/ID.
// ID is a hash of the API URL, user, options and chunk contents, so the same
// command run again finds the same directory and resumes.
// ListJobs lists them; RemoveJob deletes one.
func DefaultStateDir(plan *Plan, client *Client) (string, error) {
	jobs, err := DefaultJobsDir()
	if err != nil {
		return "", err
	}
	job := jobRecordOf(plan, client)
	h := sha256.New()
	fmt.Fprintln(h, job.APIURL, job.UserID, job.ChunkSize, job.Region, job.Shard)
	for _, c := range job.Chunks {
		fmt.Fprintln(h, c)
	}
	return filepath.Join(jobs, hex.EncodeToString(h.Sum(nil))[:16]), nil
}
