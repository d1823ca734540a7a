package emulator

import (
	"maps"
	"slices"
	"time"
)

// Stats are the sandbox's counters. Charged always equals Creates plus
// StatusCalls.
type Stats struct {
	// Creates counts created tasks, including those whose answer was lost.
	Creates int `json:"creates"`
	// StatusCalls counts status answers with 200.
	StatusCalls int `json:"status_calls"`
	// Charged counts the calls the upstream bills: every create and status
	// answer with 200, and every create whose answer a fault lost (the
	// upstream billed it before the loss).
	Charged int `json:"charged"`
	// Downloads counts result files sent whole; downloads are not charged.
	Downloads int `json:"downloads"`
	// CutDownloads counts result files cut midway on purpose.
	CutDownloads int `json:"cut_downloads"`
	// LostCreates counts created tasks whose answer was replaced by 500 or a
	// dropped connection.
	LostCreates int `json:"lost_creates"`
	// Errors counts error answers by HTTP status code, injected ones
	// included. Dropped connections have no code and are not in it.
	Errors map[int]int `json:"errors,omitempty"`
	// DuplicateUploads counts uploaded lines equal to a line uploaded before,
	// in the same task or an earlier one.
	DuplicateUploads int `json:"duplicate_uploads"`
	// DuplicateFiles counts tasks whose file is byte for byte the file of an
	// earlier task.
	DuplicateFiles int `json:"duplicate_files"`
}

func (s Stats) clone() Stats {
	s.Errors = maps.Clone(s.Errors)
	return s
}

// State is everything a restarted sandbox needs to go on answering for its
// tasks. It encodes to JSON, so a sandbox process can keep it in a file.
type State struct {
	Seed   uint64      `json:"seed"`
	NextID uint64      `json:"next_id"`
	Tasks  []TaskState `json:"tasks"`
	Stats  Stats       `json:"stats"`
	// Uploads counts each uploaded line; Files counts tasks per file hash.
	Uploads map[string]int `json:"uploads,omitempty"`
	Files   map[string]int `json:"files,omitempty"`
}

// TaskState is a task as kept in a State. The schedule is fixed when the task
// is created.
type TaskState struct {
	ID          string        `json:"id"`
	UserID      string        `json:"user_id"`
	CreatedAt   time.Time     `json:"created_at"`
	Lines       []string      `json:"lines"`
	FileHash    string        `json:"file_hash"`
	FailureRate float64       `json:"failure_rate"`
	StartDelay  time.Duration `json:"start_delay"`
	Processing  time.Duration `json:"processing"`
	ExportDelay time.Duration `json:"export_delay"`
}

func (st State) clone() State {
	st.Tasks = slices.Clone(st.Tasks)
	for i := range st.Tasks {
		st.Tasks[i].Lines = slices.Clone(st.Tasks[i].Lines)
	}
	st.Stats = st.Stats.clone()
	st.Uploads = maps.Clone(st.Uploads)
	st.Files = maps.Clone(st.Files)
	return st
}

// Snapshot returns the sandbox's state for WithState. Fault counters are not
// part of it: a restarted sandbox injects faults afresh.
func (s *Server) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{
		Seed:    s.seed,
		NextID:  s.nextID,
		Tasks:   make([]TaskState, 0, len(s.order)),
		Stats:   s.stats,
		Uploads: s.uploads,
		Files:   s.files,
	}
	for _, t := range s.order {
		st.Tasks = append(st.Tasks, t.state())
	}
	return st.clone()
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.clone()
}

// Uploads returns how many times each line (a number, as uploaded) was
// uploaded, over all tasks.
func (s *Server) Uploads() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.uploads)
}

// Tasks returns every task as a status call would report it now, in creation
// order, without charging. ResultURL is set only under WithPublicURL, since
// there is no request to take a host from.
func (s *Server) Tasks() []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.clock.Now()
	out := make([]Task, 0, len(s.order))
	for _, t := range s.order {
		v := t.view(now)
		if v.Status == StatusExported && s.cfg.publicURL != "" {
			v.ResultURL = s.resultURL(s.cfg.publicURL, t.id, now)
		}
		out = append(out, v)
	}
	return out
}
