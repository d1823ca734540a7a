package connector

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestShardsUnionToTheWhole(t *testing.T) {
	in := makeInput(t, 600)
	read := func(sh Shard) *Plan {
		p, err := NewPlan([]Input{{Name: "n.txt", R: strings.NewReader(in.text)}}, PlanOptions{Region: "CH", ChunkSize: 50, Shard: sh})
		require.NoError(t, err)
		require.Equal(t, p.Rows, len(p.Numbers)+len(p.Rejects)+p.Blank)
		return p
	}
	whole := read(Shard{})
	var nums []string
	var rejects []Reject
	rows, blank := 0, 0
	for k := 1; k <= 3; k++ {
		p := read(Shard{K: k, N: 3})
		require.NotEmpty(t, p.Numbers, "shard %d has work", k)
		nums = append(nums, p.Numbers.Strings()...)
		rejects = append(rejects, p.Rejects...)
		rows += p.Rows
		blank += p.Blank
	}
	sortedCopy := func(s []string) []string { s = append([]string(nil), s...); sort.Strings(s); return s }
	require.Equal(t, sortedCopy(whole.Numbers.Strings()), sortedCopy(nums))
	sort.Slice(rejects, func(i, j int) bool { return rejects[i].Row < rejects[j].Row })
	require.Equal(t, whole.Rejects, rejects)
	require.Equal(t, whole.Rows, rows)
	require.Equal(t, whole.Blank, blank)
}

func TestParseShard(t *testing.T) {
	sh, err := ParseShard("2/4")
	require.NoError(t, err)
	require.Equal(t, Shard{K: 2, N: 4}, sh)
	for _, bad := range []string{"0/4", "5/4", "2", "a/b", "1/0", "2/4x"} {
		_, err := ParseShard(bad)
		require.Error(t, err, bad)
	}
}
