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

// TestShardOfANumberIsItsText: a number's shard is the hash of its E.164
// text, as before numbers were integers: a worker of a job sharded by an
// older wadeep takes the same numbers.
func TestShardOfANumberIsItsText(t *testing.T) {
	for _, e164 := range []string{"+41798284651", "+12025550123", "+4915123456789", "+33612345678", "+8613800138000", "+999"} {
		n, ok := ParseNumber(e164)
		require.True(t, ok)
		require.Equal(t, e164, n.String())
		for sh := range 7 {
			for k := 1; k <= sh+1; k++ {
				s := Shard{K: k, N: sh + 1}
				require.Equal(t, s.takes(e164), s.takesNumber(n), "%s %s", e164, s)
			}
		}
	}
	for _, bad := range []string{"", "+", "41798284651", "+0412", "+41 79", "+12345678901234567"} {
		_, ok := ParseNumber(bad)
		require.False(t, ok, bad)
	}
}
