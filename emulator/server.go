package emulator

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// BasePath is the path prefix of the upstream API. Create is POST
// BasePath+"/tasks", status GET BasePath+"/tasks/{id}?user_id=ID".
const BasePath = "/wa/api/deep"

// StatsPath is the route of the sandbox's own counters: GET answers Stats as
// JSON. It is outside BasePath, needs no key, and is neither charged nor
// counted, nor hit by injected faults.
const StatsPath = "/_sandbox/stats"

// Server is the sandbox: an http.Handler that answers like the upstream API.
// It is safe for concurrent use.
//
// Two answers end in panic(http.ErrAbortHandler), which net/http turns into a
// dropped connection: a cut download and FaultDropCreate. Serve it through an
// http.Server (httptest.NewServer is fine) when those faults are on.
type Server struct {
	cfg    config
	secret []byte

	mu        sync.Mutex
	seed      uint64
	rng       *mrand.Rand
	nextID    uint64
	tasks     map[string]*task
	order     []*task
	stats     Stats
	uploads   map[string]int
	files     map[string]int
	faultSeen map[faultKey]int
	lastID    string // task of lastFile
	lastFile  []byte // the last result file built, never modified
}

var _ http.Handler = (*Server)(nil)

// New returns a sandbox configured by opts.
func New(opts ...Option) *Server {
	cfg := newConfig(opts)
	s := &Server{
		cfg:       cfg,
		tasks:     make(map[string]*task),
		uploads:   make(map[string]int),
		files:     make(map[string]int),
		faultSeen: make(map[faultKey]int),
	}
	s.seed = cfg.seed
	if !cfg.seeded {
		var b [8]byte
		_, _ = rand.Read(b[:])
		s.seed = binary.LittleEndian.Uint64(b[:])
	}
	faultSeed := s.seed
	if st := cfg.state; st != nil {
		// Ids and link tokens derive from the seed, so the old one is kept;
		// an explicit WithSeed still chooses the fault sequence.
		s.seed, s.nextID, s.stats = st.Seed, st.NextID, st.Stats
		if !cfg.seeded {
			faultSeed = st.Seed
		}
		if st.Uploads != nil {
			s.uploads = st.Uploads
		}
		if st.Files != nil {
			s.files = st.Files
		}
		for _, ts := range st.Tasks {
			if ts.ID == "" || s.tasks[ts.ID] != nil {
				continue
			}
			t := newTask(ts)
			s.tasks[t.id] = t
			s.order = append(s.order, t)
		}
		s.cfg.state = nil
	}
	s.secret = linkSecret(s.seed)
	s.rng = mrand.New(mrand.NewPCG(faultSeed, faultSeed^0x9e3779b97f4a7c15))
	return s
}

// ServeHTTP answers the upstream's routes and the result downloads.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == StatsPath {
		s.serveStats(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, BasePath+"/")
	if !ok {
		s.fail(w, http.StatusNotFound, "not found")
		return
	}
	switch {
	case rest == "tasks" || rest == "tasks/":
		if allow(w, r, http.MethodPost) {
			s.create(w, r)
		} else {
			s.fail(w, http.StatusMethodNotAllowed, "method not allowed")
		}
	case strings.HasPrefix(rest, "tasks/") && !strings.Contains(rest[len("tasks/"):], "/"):
		if allow(w, r, http.MethodGet) {
			s.status(w, r, rest[len("tasks/"):])
		} else {
			s.fail(w, http.StatusMethodNotAllowed, "method not allowed")
		}
	case strings.HasPrefix(rest, "results/") && strings.HasSuffix(rest, ".xlsx") && !strings.Contains(rest[len("results/"):], "/"):
		if allow(w, r, http.MethodGet) {
			s.download(w, r, strings.TrimSuffix(rest[len("results/"):], ".xlsx"))
		} else {
			s.fail(w, http.StatusMethodNotAllowed, "method not allowed")
		}
	default:
		s.fail(w, http.StatusNotFound, "not found")
	}
}

// serveStats answers StatsPath without touching the counters, not even
// those of errors.
func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method not allowed"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, s.Stats())
}

func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	return false
}

// authorized compares keys in constant time; the key is never echoed or
// logged.
func (s *Server) authorized(r *http.Request) bool {
	got := r.Header.Get("X-API-Key")
	if got == "" {
		return false
	}
	if s.cfg.apiKey == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.apiKey)) == 1
}

// outOfBalance reports whether a charged answer is no longer allowed. The
// caller holds s.mu.
func (s *Server) outOfBalance() bool {
	return s.cfg.limited && s.stats.Charged >= s.cfg.balance
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		s.fail(w, http.StatusUnauthorized, "missing or invalid X-API-Key")
		return
	}
	userID, file, msg := s.readCreateForm(w, r)
	if msg != "" {
		s.fail(w, http.StatusBadRequest, msg)
		return
	}
	up, err := ParseUpload(file)
	if err != nil {
		s.fail(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "emulator: "))
		return
	}
	sum := sha256.Sum256(file)
	hash := hex.EncodeToString(sum[:])

	s.mu.Lock()
	v := s.judge(OnCreate, hash)
	s.mu.Unlock()
	if s.inflict(w, r, v) {
		return
	}

	s.mu.Lock()
	if s.outOfBalance() {
		s.mu.Unlock()
		s.fail(w, http.StatusPaymentRequired, "balance exhausted")
		return
	}
	now := s.cfg.clock.Now().UTC().Round(0)
	t := newTask(TaskState{
		ID:          taskID(s.seed, s.nextID),
		UserID:      userID,
		CreatedAt:   now,
		Lines:       up.Lines,
		FileHash:    hash,
		FailureRate: s.cfg.failureRate,
		StartDelay:  s.cfg.startDelay,
		Processing:  processingTime(len(up.Lines), s.cfg.speed),
		ExportDelay: s.cfg.exportDelay,
	})
	s.nextID++
	s.tasks[t.id] = t
	s.order = append(s.order, t)
	for _, l := range up.Lines {
		if s.uploads[l] > 0 {
			s.stats.DuplicateUploads++
		}
		s.uploads[l]++
	}
	if s.files[hash] > 0 {
		s.stats.DuplicateFiles++
	}
	s.files[hash]++
	s.stats.Creates++
	s.stats.Charged++
	if v.lose || v.drop {
		s.stats.LostCreates++
	}
	// The contract's create answer is always the pending task, whatever the
	// delays: the task is queued by the time the answer leaves.
	body := Task{CreatedAt: now, UpdatedAt: now, TaskID: t.id, UserID: userID, Status: StatusPending}
	s.mu.Unlock()

	switch {
	case v.drop:
		panic(http.ErrAbortHandler)
	case v.lose:
		s.fail(w, http.StatusInternalServerError, "internal server error, retry later")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, id string) {
	if !s.authorized(r) {
		s.fail(w, http.StatusUnauthorized, "missing or invalid X-API-Key")
		return
	}
	userID := r.URL.Query().Get("user_id")
	if userID == "" {
		s.fail(w, http.StatusBadRequest, "missing user_id")
		return
	}

	s.mu.Lock()
	v := s.judge(OnStatus, id)
	s.mu.Unlock()
	if s.inflict(w, r, v) {
		return
	}

	s.mu.Lock()
	t := s.tasks[id]
	if t == nil || t.userID != userID {
		s.mu.Unlock()
		s.fail(w, http.StatusNotFound, "task not found")
		return
	}
	if s.outOfBalance() {
		s.mu.Unlock()
		s.fail(w, http.StatusPaymentRequired, "balance exhausted")
		return
	}
	now := s.cfg.clock.Now()
	body := t.view(now)
	if body.Status == StatusExported {
		body.ResultURL = s.resultURL(s.origin(r), t.id, now)
	}
	s.stats.StatusCalls++
	s.stats.Charged++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) download(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	t := s.tasks[id]
	now := s.cfg.clock.Now()
	s.mu.Unlock()
	if t == nil {
		s.fail(w, http.StatusNotFound, "result not found")
		return
	}
	if why := checkToken(s.secret, id, r.URL.Query().Get("token"), now); why != "" {
		s.fail(w, http.StatusForbidden, why)
		return
	}
	if t.view(now).Status != StatusExported {
		s.fail(w, http.StatusNotFound, "result not ready")
		return
	}

	s.mu.Lock()
	v := s.judge(OnDownload, id)
	s.mu.Unlock()
	if s.inflict(w, r, v) {
		return
	}

	body, err := s.resultBytes(t)
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "cannot build result file")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", id+".xlsx"))
	h.Set("Content-Length", fmt.Sprint(len(body)))

	s.mu.Lock()
	if v.cut {
		s.stats.CutDownloads++
	} else {
		s.stats.Downloads++
	}
	s.mu.Unlock()

	if v.cut {
		n := min(max(int(float64(len(body))*v.cutAt), 1), len(body)-1)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:n])
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// resultBytes builds a task's result file, keeping the last one built: a
// client re-fetching a cut download should not wait for a rebuild.
func (s *Server) resultBytes(t *task) ([]byte, error) {
	s.mu.Lock()
	id, body := s.lastID, s.lastFile
	s.mu.Unlock()
	if id == t.id {
		return body, nil
	}
	buf, err := resultFile(t.lines, t.failureRate)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.lastID, s.lastFile = t.id, buf.Bytes()
	s.mu.Unlock()
	return buf.Bytes(), nil
}

// origin is the scheme and host the client reached the sandbox at.
func (s *Server) origin(r *http.Request) string {
	if s.cfg.publicURL != "" {
		return s.cfg.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = "127.0.0.1"
	}
	return scheme + "://" + host
}

// resultURL hands out a fresh link; with a link TTL it expires ttl after now.
func (s *Server) resultURL(origin, id string, now time.Time) string {
	var exp int64
	if s.cfg.linkTTL > 0 {
		exp = now.Add(s.cfg.linkTTL).UnixNano()
	}
	return origin + BasePath + "/results/" + id + ".xlsx?token=" + linkToken(s.secret, id, exp)
}

type errorBody struct {
	Error string `json:"error"`
}

// fail writes a JSON error answer and counts it.
func (s *Server) fail(w http.ResponseWriter, code int, msg string) {
	s.mu.Lock()
	if s.stats.Errors == nil {
		s.stats.Errors = make(map[int]int)
	}
	s.stats.Errors[code]++
	s.mu.Unlock()
	writeJSON(w, code, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal server error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)+1))
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// Start serves the sandbox on addr ("127.0.0.1:0" when empty; an empty host
// means 127.0.0.1, so the sandbox is not exposed unless asked). It returns the
// origin to use as the API URL, e.g. "http://127.0.0.1:8080" (the routes are
// under BasePath), and stop, which shuts the listener down, waiting up to 5 s
// for requests in flight.
func (s *Server) Start(addr string) (url string, stop func() error, err error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, fmt.Errorf("emulator: listen address %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return "", nil, fmt.Errorf("emulator: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	a := ln.Addr().(*net.TCPAddr)
	shown := a.String()
	if a.IP.IsUnspecified() {
		shown = net.JoinHostPort("127.0.0.1", fmt.Sprint(a.Port))
	}
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				stopErr = errors.Join(fmt.Errorf("emulator: shutdown: %w", err), srv.Close())
			}
			if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
				stopErr = errors.Join(stopErr, fmt.Errorf("emulator: serve: %w", err))
			}
		})
		return stopErr
	}
	return "http://" + shown, stop, nil
}
