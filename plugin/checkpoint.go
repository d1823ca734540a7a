package plugin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wadeep/wadeep/connector"
)

// position is a place in a Read's stream of job batches: batch Batch (the
// job's own batches, counted from 0, before any split for the wire), row
// Row within it.
type position struct {
	Batch int64 `json:"batch"`
	Row   int64 `json:"row"`
}

// checkpointVersion is the version of the checkpoint's JSON form.
const checkpointVersion = 1

type checkpointJSON struct {
	V   int    `json:"v"`
	Job string `json:"job"` // the stream's identity: chunks, enrich, pass-through
	position
}

var errCheckpoint = errors.New("plugin: checkpoint")

func encodeCheckpoint(job string, pos position) Checkpoint {
	b, _ := json.Marshal(checkpointJSON{V: checkpointVersion, Job: job, position: pos})
	return b
}

func decodeCheckpoint(cp Checkpoint, job string) (position, error) {
	if len(cp) == 0 {
		return position{}, nil
	}
	var c checkpointJSON
	if len(cp) > 4096 || json.Unmarshal(cp, &c) != nil {
		return position{}, fmt.Errorf("%w: not a wadeep checkpoint", errCheckpoint)
	}
	if c.V != checkpointVersion {
		return position{}, fmt.Errorf("%w: version %d, this wadeep reads version %d", errCheckpoint, c.V, checkpointVersion)
	}
	if c.Job != job {
		return position{}, fmt.Errorf("%w: it belongs to another stream (another job, or enrich or pass_through changed)", errCheckpoint)
	}
	if c.Batch < 0 || c.Row < 0 {
		return position{}, fmt.Errorf("%w: negative position", errCheckpoint)
	}
	return c.position, nil
}

// streamID names what a Read streams: the job's chunks and the options
// that shape the batches.
func streamID(plan *connector.Plan, cfg Config) string {
	h := sha256.New()
	for _, c := range plan.Chunks {
		fmt.Fprintln(h, c.Hash)
	}
	fmt.Fprintln(h, cfg.Enrich, cfg.PassThrough, cfg.Drop)
	if ps := plan.Options.Privacy.Pseudonymizer; ps != nil {
		fmt.Fprintln(h, ps.KeyID()) // another key makes another stream
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
