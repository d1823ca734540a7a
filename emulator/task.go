package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Task statuses, in lifecycle order.
const (
	StatusPending    = "pending"
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusExported   = "exported"
)

// Task is the JSON body of create and status answers, as the contract shows.
type Task struct {
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	TaskID    string    `json:"task_id"`
	UserID    string    `json:"user_id"`
	Status    string    `json:"status"`
	Total     int       `json:"total"`
	Success   int       `json:"success"`
	Failure   int       `json:"failure"`
	ResultURL string    `json:"result_url,omitempty"`
}

// task is a created task. Its schedule is fixed at creation so that a
// restart with other options never moves a task backwards.
type task struct {
	id          string
	userID      string
	created     time.Time
	lines       []string
	failAt      []int // indexes of failing lines, ascending
	fileHash    string
	failureRate float64
	startDelay  time.Duration
	processing  time.Duration
	exportDelay time.Duration
}

func newTask(st TaskState) *task {
	t := &task{
		id:          st.ID,
		userID:      st.UserID,
		created:     st.CreatedAt,
		lines:       st.Lines,
		fileHash:    st.FileHash,
		failureRate: st.FailureRate,
		startDelay:  max(st.StartDelay, 0),
		processing:  max(st.Processing, 0),
		exportDelay: max(st.ExportDelay, 0),
	}
	if len(t.lines) == 0 {
		t.processing = 0 // a hand-edited state must not divide by zero lines
	}
	for i, l := range t.lines {
		if p, _ := synth(l, t.failureRate); p.Failed {
			t.failAt = append(t.failAt, i)
		}
	}
	return t
}

func (t *task) state() TaskState {
	return TaskState{
		ID:          t.id,
		UserID:      t.userID,
		CreatedAt:   t.created,
		Lines:       t.lines,
		FileHash:    t.fileHash,
		FailureRate: t.failureRate,
		StartDelay:  t.startDelay,
		Processing:  t.processing,
		ExportDelay: t.exportDelay,
	}
}

// processingTime is how long n numbers take at speed, capped far beyond any
// test so that time arithmetic cannot overflow.
func processingTime(n int, speed float64) time.Duration {
	if math.IsInf(speed, 1) {
		return 0
	}
	ns := math.Round(float64(n) / speed * 1e9)
	const limit = 100 * 365 * 24 * time.Hour
	if ns >= float64(limit) {
		return limit
	}
	return time.Duration(ns)
}

// view computes the task as the upstream would report it at now.
func (t *task) view(now time.Time) Task {
	v := Task{CreatedAt: t.created, UpdatedAt: t.created, TaskID: t.id, UserID: t.userID, Status: StatusPending}
	start := t.created.Add(t.startDelay)
	done := start.Add(t.processing)
	exported := done.Add(t.exportDelay)
	n := len(t.lines)
	switch {
	case now.Before(start):
		return v
	case now.Before(done):
		k := min(int(mulDiv(now.Sub(start), n, t.processing)), n-1)
		v.Status = StatusProcessing
		v.Total = n
		v.Failure = sort.SearchInts(t.failAt, k)
		v.Success = k - v.Failure
		v.UpdatedAt = start.Add(mulDiv(t.processing, k, time.Duration(n)))
		return v
	case now.Before(exported):
		v.Status = StatusCompleted
		v.UpdatedAt = done
	default:
		v.Status = StatusExported
		v.UpdatedAt = exported
	}
	v.Total = n
	v.Failure = len(t.failAt)
	v.Success = n - v.Failure
	return v
}

// mulDiv returns d*k/div rounded down, exact for any task size. It needs
// 0 <= d <= div and k >= 0 so that the quotient fits.
func mulDiv(d time.Duration, k int, div time.Duration) time.Duration {
	hi, lo := bits.Mul64(uint64(d), uint64(k))
	q, _ := bits.Div64(hi, lo, uint64(div))
	return time.Duration(q)
}

var idEncoding = base32.HexEncoding.WithPadding(base32.NoPadding)

// taskID derives the n-th task id from the seed: 12 bytes in lower case
// base32hex, 20 characters like the upstream's ids.
func taskID(seed, n uint64) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], seed)
	binary.LittleEndian.PutUint64(b[8:], n)
	h := sha256.Sum256(append([]byte("wadeep-emulator-task\x00"), b[:]...))
	return strings.ToLower(idEncoding.EncodeToString(h[:12]))
}

func linkSecret(seed uint64) []byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h := sha256.Sum256(append([]byte("wadeep-emulator-link\x00"), b[:]...))
	return h[:]
}

// linkToken signs a task id and an expiry (Unix nanoseconds, 0 for never) so
// that links need no server-side state and survive a restart.
func linkToken(secret []byte, id string, exp int64) string {
	e := strconv.FormatInt(exp, 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(id + "\x00" + e))
	return e + "." + hex.EncodeToString(m.Sum(nil)[:16])
}

// checkToken returns "" for a token valid for id at now, else why not.
func checkToken(secret []byte, id, token string, now time.Time) string {
	e, _, ok := strings.Cut(token, ".")
	exp, err := strconv.ParseInt(e, 10, 64)
	if !ok || err != nil || !hmac.Equal([]byte(token), []byte(linkToken(secret, id, exp))) {
		return "invalid download link"
	}
	if exp != 0 && now.UnixNano() >= exp {
		return "download link expired"
	}
	return ""
}
