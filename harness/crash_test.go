//go:build cgo

package harness

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/arrowconv"
)

const chunkRows = 5000

// TestHelperProcess is not a test: the tests below run the test binary
// again with WADEEP_HARNESS_HELPER set, to have a process to kill or one
// that holds a database.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv("WADEEP_HARNESS_HELPER_DB")
	switch os.Getenv("WADEEP_HARNESS_HELPER") {
	case "write":
		d, err := Open(path)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		ctx := context.Background()
		w, err := d.NewProfileWriter(ctx, arrowconv.Schema())
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		for c := 0; ; c++ {
			// Each chunk in several batches, so that a kill can land
			// between two of them as well as in the merge.
			for b := 0; b < 5; b++ {
				rows := make([]prof, chunkRows/5)
				for i := range rows {
					rows[i] = prof{number: fmt.Sprintf("+4179%07d", c*chunkRows+b*chunkRows/5+i), status: "checked", whatsapp: true, checkedAt: day, task: fmt.Sprint(c)}
				}
				rec := profiles(t, rows)
				if err := w.Write(rec); err != nil {
					fmt.Println("error:", err)
					os.Exit(1)
				}
				rec.Release()
			}
			if err := w.EndChunk(Task{ID: fmt.Sprint("t", c), Chunk: c + 1, Numbers: chunkRows, Profiles: chunkRows}); err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
			fmt.Println("chunk", c+1)
		}
	case "hold":
		d, err := Open(path)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		defer d.Close()
		fmt.Println("open")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
}

func helper(t *testing.T, mode, path string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "WADEEP_HARNESS_HELPER="+mode, "WADEEP_HARNESS_HELPER_DB="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(out)
}

func TestKillDuringWriteKeepsWholeChunks(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a process")
	}
	path := t.TempDir() + "/p.duckdb"
	cmd, out := helper(t, "write", path)
	committed := 0
	for out.Scan() {
		line := out.Text()
		require.False(t, strings.HasPrefix(line, "error"), line)
		if strings.HasPrefix(line, "chunk ") {
			committed++
		}
		if committed == 3 {
			break
		}
	}
	// Mid-way through the next chunk: staged rows, or the merge.
	time.Sleep(15 * time.Millisecond)
	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()

	d, err := Open(path)
	require.NoError(t, err, "the database opens after a kill -9")
	defer d.Close()
	got := query(t, d, `SELECT count(*), count(DISTINCT task_id), (SELECT count(*) FROM tasks) FROM profiles`)
	var rows, tasks, taskRows int
	fmt.Sscan(got[0][0], &rows)
	fmt.Sscan(got[0][1], &tasks)
	fmt.Sscan(got[0][2], &taskRows)
	require.GreaterOrEqual(t, tasks, 3)
	require.Equal(t, tasks*chunkRows, rows, "whole chunks only")
	require.Equal(t, tasks, taskRows, "a tasks row with each chunk, and none without")
}

func TestLockedAndCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/held.duckdb"
	d, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, d.Close())
	_, out := helper(t, "hold", path)
	require.True(t, out.Scan())
	require.Equal(t, "open", out.Text())
	_, err = Open(path)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "in use by another process")

	bad := dir + "/bad.duckdb"
	require.NoError(t, os.WriteFile(bad, []byte(strings.Repeat("garbage!", 2000)), 0o600))
	_, err = Open(bad)
	require.ErrorContains(t, err, bad)
	require.ErrorContains(t, err, "not a DuckDB database")
}

func TestSchemaVersions(t *testing.T) {
	ctx := context.Background()
	d, path := openTemp(t)
	require.NoError(t, d.exec(ctx, `UPDATE wadeep_meta SET value = '99' WHERE key = 'schema_version'`))
	require.NoError(t, d.Close())
	_, err := Open(path)
	require.ErrorContains(t, err, "schema version 99 was written by a newer wadeep")

	other := t.TempDir() + "/other.duckdb"
	o, err := open(other)
	require.NoError(t, err)
	require.NoError(t, o.exec(ctx, `CREATE TABLE profiles (x INTEGER)`))
	require.NoError(t, o.Close())
	_, err = Open(other)
	require.ErrorContains(t, err, "not a wadeep database")
}
