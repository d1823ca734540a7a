package connector

import (
	"context"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
)

// TestShardWorkersUnionToOneMachine runs three --shard K/3 workers at once,
// each with its own journal (as on three machines), against one sandbox:
// their outputs and rejects union to what one machine makes of the whole
// input, and no number is uploaded twice.
func TestShardWorkersUnionToOneMachine(t *testing.T) {
	in := makeInput(t, 600)
	run := func(sb *sandbox, sh Shard, state string, c *collect) *Plan {
		plan, err := NewPlan([]Input{{Name: "n.txt", R: strings.NewReader(in.text)}}, PlanOptions{Region: "CH", ChunkSize: 50, Shard: sh})
		require.NoError(t, err)
		client := sb.client(t)
		journal, err := OpenJournal(state, plan, client)
		require.NoError(t, err)
		defer journal.Close()
		job := &Job{Client: client, Plan: plan, Journal: journal, Out: c.out,
			Poll: PollPolicy{Floor: time.Millisecond, ExportMin: -1}}
		_, err = job.Run(context.Background())
		require.NoError(t, err)
		return plan
	}
	instant := []emulator.Option{emulator.WithSpeed(math.Inf(1)), emulator.WithStartDelay(0), emulator.WithExportDelay(0)}

	one := newCollect()
	whole := run(newSandbox(t, instant...), Shard{}, filepath.Join(t.TempDir(), "state"), one)

	shared := newSandbox(t, instant...)
	workers := newCollect()
	plans := make([]*Plan, 3)
	var wg sync.WaitGroup
	for k := 1; k <= 3; k++ {
		state := filepath.Join(t.TempDir(), "state") // a machine of its own: no journal beside it
		wg.Add(1)
		go func() {
			defer wg.Done()
			plans[k-1] = run(shared, Shard{K: k, N: 3}, state, workers)
		}()
	}
	wg.Wait()

	require.Empty(t, workers.dups, "a number in two workers' outputs")
	require.Equal(t, one.n, workers.n)
	require.Equal(t, len(whole.Numbers), workers.n)
	for number, r := range one.rows {
		w, ok := workers.rows[number]
		require.True(t, ok, "%s is missing from the workers' outputs", number)
		r.TaskID, w.TaskID = "", ""
		require.Equal(t, r, w, number)
	}
	var rejects []Reject
	rows := 0
	for _, p := range plans {
		rejects = append(rejects, p.Rejects...)
		rows += p.Rows
	}
	sort.Slice(rejects, func(i, j int) bool { return rejects[i].Row < rejects[j].Row })
	require.Equal(t, whole.Rejects, rejects)
	require.Equal(t, whole.Rows, rows)

	st := shared.Stats()
	require.Zero(t, st.DuplicateUploads)
	require.Zero(t, st.DuplicateFiles)
	uploads := shared.Uploads()
	require.Len(t, uploads, len(whole.Numbers))
	for number, n := range uploads {
		require.Equal(t, 1, n, "%s uploaded %d times", number, n)
	}
}
