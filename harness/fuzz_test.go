//go:build cgo

package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/internal/fuzzseed"
)

// cacheRow is one seed of FuzzCacheProfiles: a row of the profiles table
// (and maybe a second row of the same number), as testdata/cache/rows.jsonl
// holds them. whatsapp is 1, 0 or anything else for NULL; a missing age is
// NULL; checked_at is any text DuckDB may read as a TIMESTAMPTZ.
type cacheRow struct {
	Number, Country, Status, Avatar, Category, Gender string
	HairColor                                         string  `json:"hair_color"`
	TaskID                                            string  `json:"task_id"`
	Whatsapp                                          int8    `json:"whatsapp"`
	AgeMin                                            *int32  `json:"age_min"`
	AgeMax                                            *int32  `json:"age_max"`
	CheckedAt                                         *string `json:"checked_at"`
	Dup                                               bool    `json:"dup"`
	DupStatus                                         string  `json:"dup_status"`
	DupCheckedAt                                      string  `json:"dup_checked_at"`
}

// noAge stands for a NULL age among the fuzzer's arguments.
const noAge = math.MinInt32

// FuzzCacheProfiles puts arbitrary values in a --cache database's profiles
// table, through real DuckDB (a file on disk is outside bytes: edited,
// merged, written by another version), and reads them back as the
// connector does: Fresh, then Profiles of the fresh numbers. Seeded from
// testdata/cache/rows.jsonl. Fresh says fresh exactly the numbers with a
// checked row at or after the cut-off; Profiles gives a clear error or,
// for each fresh number, in order, exactly one profile: that number,
// checked, checked_at at or after the cut-off, in the profile schema.
func FuzzCacheProfiles(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "testdata/cache/rows.jsonl") {
		sc := bufio.NewScanner(bytes.NewReader(s.Data))
		for sc.Scan() {
			var r cacheRow
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil {
				f.Fatalf("%s: %v", s.Path, err)
			}
			age := func(p *int32) int32 {
				if p == nil {
					return noAge
				}
				return *p
			}
			checked := "NULL"
			if r.CheckedAt != nil {
				checked = *r.CheckedAt
			}
			f.Add(r.Number, r.Country, r.Status, r.Avatar, r.Category, r.Gender, r.HairColor, r.TaskID, checked,
				r.Whatsapp, age(r.AgeMin), age(r.AgeMax), r.Dup, r.DupStatus, r.DupCheckedAt)
		}
	}
	d, path := openTemp(f)
	ctx := context.Background()
	since := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const other = "+41791234567" // in no row: never fresh
	f.Fuzz(func(t *testing.T, number, country, status, avatar, category, gender, hair, task, checkedAt string,
		whatsapp int8, ageMin, ageMax int32, dup bool, dupStatus, dupCheckedAt string) {
		if number == other {
			return
		}
		_, err := d.Conn().ExecContext(ctx, "DELETE FROM profiles")
		require.NoError(t, err)
		insert := func(status, checkedAt string) bool {
			var wa, at, lo, hi any
			switch whatsapp {
			case 0, 1:
				wa = whatsapp == 1
			}
			if checkedAt != "NULL" {
				at = checkedAt
			}
			if ageMin != noAge {
				lo = ageMin
			}
			if ageMax != noAge {
				hi = ageMax
			}
			_, err := d.Conn().ExecContext(ctx, `INSERT INTO profiles (number, country, status, whatsapp, avatar, category, gender,
age_min, age_max, hair_color, task_id, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TIMESTAMPTZ))`,
				number, country, status, wa, avatar, category, gender, lo, hi, hair, task, at)
			return err == nil // DuckDB refuses it: a file cannot hold it either
		}
		if !insert(status, checkedAt) || dup && !insert(dupStatus, dupCheckedAt) {
			return
		}

		numbers := []string{number, other}
		fresh, err := d.Fresh(ctx, numbers, since)
		require.NoError(t, err)
		require.Len(t, fresh, 2)
		require.False(t, fresh[1], "a number in no row is not fresh")
		var want int
		require.NoError(t, d.Conn().QueryRowContext(ctx, `SELECT count(*) FROM profiles WHERE number = ? AND status = 'checked' AND checked_at >= ?`,
			number, since).Scan(&want))
		require.Equal(t, want > 0, fresh[0], "fresh exactly when a checked row is recent enough")
		if !fresh[0] {
			return
		}

		r, err := d.Profiles(ctx, []string{number})
		require.NoError(t, err)
		defer r.Release()
		require.True(t, r.Schema().Equal(arrowconv.Schema()))
		var got []string
		for r.Next() {
			rec := r.RecordBatch()
			require.True(t, rec.Schema().Equal(arrowconv.Schema()))
			require.NoError(t, array.ValidateRecordFull(rec))
			col := func(name string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
			for i := 0; i < int(rec.NumRows()); i++ {
				got = append(got, col(arrowconv.ColNumber).ValueStr(i))
				st := col(arrowconv.ColStatus).(*array.Dictionary)
				require.Equal(t, arrowconv.StatusChecked, st.Dictionary().ValueStr(st.GetValueIndex(i)), "a fresh number's profile is checked")
				at := col(arrowconv.ColCheckedAt).(*array.Timestamp)
				require.True(t, at.IsValid(i), "a fresh profile has its checked_at")
				require.GreaterOrEqual(t, int64(at.Value(i)), since.UnixMilli(), "checked_at %s", at.ValueStr(i))
			}
		}
		if err := r.Err(); err != nil {
			msg := err.Error()
			require.True(t, strings.HasPrefix(msg, "harness: "+path+": "), "the error names the database: %s", msg)
			require.NotContains(t, msg, "\n")
			return
		}
		require.Equal(t, []string{number}, got, "one profile per fresh number")
	})
}
