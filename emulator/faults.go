package emulator

import (
	"net/http"
	"strconv"
	"time"
)

// An Endpoint is a set of the sandbox's routes, for aiming faults.
type Endpoint uint8

const (
	// OnCreate is POST {BasePath}/tasks.
	OnCreate Endpoint = 1 << iota
	// OnStatus is GET {BasePath}/tasks/{id}.
	OnStatus
	// OnDownload is GET of a result_url.
	OnDownload

	allEndpoints = OnCreate | OnStatus | OnDownload
)

// A FaultKind says how a request goes wrong.
type FaultKind uint8

const (
	// Fault500 answers 500 instead of serving the request; nothing is created
	// or charged.
	Fault500 FaultKind = iota + 1
	// Fault429 answers 429 with Retry-After: Delay (DefaultRetryAfter when
	// zero), chosen at random in seconds or HTTP-date form. The HTTP date is
	// relative to the sandbox clock, which also sets the Date header.
	Fault429
	// FaultSlow waits Delay of real time before serving the request, or until
	// the client gives up.
	FaultSlow
	// FaultLoseCreate creates and charges the task, then answers 500 as if
	// the response had been lost on the way. Create only.
	FaultLoseCreate
	// FaultDropCreate creates and charges the task, then closes the connection
	// without an answer. Create only.
	FaultDropCreate
	// FaultCutDownload sends part of the result file, then drops the
	// connection. Download only.
	FaultCutDownload
)

// A Fault is a misbehaviour injected into matching requests. A request is hit
// when it is among the First requests the fault has seen or, after those, with
// probability Rate drawn from the seeded generator; so faults are reproducible
// for a sequential client under WithSeed.
type Fault struct {
	Kind FaultKind
	// On restricts the fault to some endpoints; zero means every endpoint
	// the kind applies to.
	On Endpoint
	// Rate is the probability in [0, 1] that a matching request is hit.
	Rate float64
	// First hits the first First matching requests regardless of Rate.
	First int
	// EachTask counts First per task (status, download) or per uploaded file
	// content (create) instead of over all requests, so that "every download
	// is cut once" is expressible.
	EachTask bool
	// Delay is the latency of FaultSlow and the Retry-After of Fault429.
	Delay time.Duration
}

func (f Fault) endpoints() Endpoint {
	switch f.Kind {
	case FaultLoseCreate, FaultDropCreate:
		return OnCreate
	case FaultCutDownload:
		return OnDownload
	}
	if f.On == 0 {
		return allEndpoints
	}
	return f.On
}

type faultKey struct {
	fault int
	key   string
}

// verdict is what the faults decided for one request.
type verdict struct {
	delay      time.Duration
	code       int // 0, 429 or 500
	retryAfter time.Duration
	dateForm   bool
	lose, drop bool
	cut        bool
	cutAt      float64 // fraction of the file sent before the cut
}

// judge decides the faults of one request. key names the task or file for
// EachTask counting. The caller holds s.mu.
func (s *Server) judge(ep Endpoint, key string) verdict {
	var v verdict
	for i, f := range s.cfg.faults {
		if f.endpoints()&ep == 0 {
			continue
		}
		k := faultKey{fault: i}
		if f.EachTask {
			k.key = key
		}
		n := s.faultSeen[k]
		s.faultSeen[k] = n + 1
		hit := n < f.First
		if !hit && f.Rate > 0 {
			hit = s.rng.Float64() < f.Rate
		}
		if !hit {
			continue
		}
		switch f.Kind {
		case FaultSlow:
			v.delay += f.Delay
		case Fault429:
			if v.code == 0 {
				v.code = http.StatusTooManyRequests
				v.retryAfter = f.Delay
				if v.retryAfter == 0 {
					v.retryAfter = DefaultRetryAfter
				}
				v.dateForm = s.rng.IntN(2) == 1
			}
		case Fault500:
			if v.code == 0 {
				v.code = http.StatusInternalServerError
			}
		case FaultLoseCreate:
			v.lose = true
		case FaultDropCreate:
			v.drop = true
		case FaultCutDownload:
			v.cut = true
			v.cutAt = 0.1 + 0.8*s.rng.Float64()
		}
	}
	return v
}

// inflict applies the delay and the error answer of v. It reports whether the
// request is finished.
func (s *Server) inflict(w http.ResponseWriter, r *http.Request, v verdict) bool {
	if v.delay > 0 {
		t := time.NewTimer(v.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	switch v.code {
	case http.StatusTooManyRequests:
		now := s.cfg.clock.Now().UTC()
		secs := int64((v.retryAfter + time.Second - 1) / time.Second)
		if v.dateForm {
			w.Header().Set("Date", now.Format(http.TimeFormat))
			w.Header().Set("Retry-After", now.Truncate(time.Second).Add(time.Duration(secs)*time.Second).Format(http.TimeFormat))
		} else {
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		}
		s.fail(w, v.code, "too many requests, retry later")
		return true
	case http.StatusInternalServerError:
		s.fail(w, v.code, "internal server error, retry later")
		return true
	}
	return false
}
