package emulator

import (
	"math"
	"strings"
	"time"
)

// Defaults of a Server built without options. They are close to the real
// service except the delays, which are shortened so that a sandbox run does not
// take half an hour.
const (
	// DefaultAPIKey is the X-API-Key the sandbox accepts unless WithAPIKey says
	// otherwise. It is public on purpose: the sandbox guards nothing.
	DefaultAPIKey = "sandbox-key"
	// DefaultSpeed is the observed speed of the real service: 20,000 numbers in
	// about 29 minutes.
	DefaultSpeed = 11.5
	// DefaultStartDelay is how long a new task stays pending.
	DefaultStartDelay = 5 * time.Second
	// DefaultExportDelay is how long a task stays completed before its result
	// file can be downloaded.
	DefaultExportDelay = 5 * time.Second
	// DefaultFailureRate is the fraction of well-formed numbers that the
	// sandbox fails to process.
	DefaultFailureRate = 0.02
	// DefaultMaxUploadBytes is the largest accepted upload file.
	DefaultMaxUploadBytes = 10 << 20
	// DefaultRetryAfter is the wait announced by injected 429 answers.
	DefaultRetryAfter = time.Second
)

// An Option configures a Server. Out-of-range values are clamped or ignored as
// each option documents, so that a flag typo cannot make New fail.
type Option func(*config)

type config struct {
	apiKey         string
	speed          float64
	startDelay     time.Duration
	exportDelay    time.Duration
	failureRate    float64
	clock          Clock
	seed           uint64
	seeded         bool
	maxUploadBytes int64
	publicURL      string
	balance        int
	limited        bool
	linkTTL        time.Duration
	faults         []Fault
	state          *State
}

func newConfig(opts []Option) config {
	c := config{
		apiKey:         DefaultAPIKey,
		speed:          DefaultSpeed,
		startDelay:     DefaultStartDelay,
		exportDelay:    DefaultExportDelay,
		failureRate:    DefaultFailureRate,
		clock:          systemClock{},
		maxUploadBytes: DefaultMaxUploadBytes,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithAPIKey sets the X-API-Key that create and status calls must carry. The
// empty key accepts any non-empty X-API-Key; a missing header is always 401.
func WithAPIKey(key string) Option {
	return func(c *config) { c.apiKey = key }
}

// WithSpeed sets how many numbers per second a task processes.
// math.Inf(1) finishes a task the moment it starts. Zero, negative and NaN
// values are ignored.
func WithSpeed(perSecond float64) Option {
	return func(c *config) {
		if perSecond > 0 {
			c.speed = perSecond
		}
	}
}

// WithStartDelay sets how long a new task stays pending with total 0.
// Negative values count as zero.
func WithStartDelay(d time.Duration) Option {
	return func(c *config) { c.startDelay = max(d, 0) }
}

// WithExportDelay sets how long a finished task stays completed before it is
// exported with a result_url. Negative values count as zero.
func WithExportDelay(d time.Duration) Option {
	return func(c *config) { c.exportDelay = max(d, 0) }
}

// WithFailureRate sets the fraction of well-formed numbers the sandbox fails
// to process, clamped to [0, 1]. Which numbers fail is decided by a hash of the
// number, and a number failing at one rate also fails at every higher rate.
func WithFailureRate(f float64) Option {
	return func(c *config) { c.failureRate = clampRate(f) }
}

// WithClock sets the clock that drives task progress, timestamps, link expiry
// and HTTP dates. A nil clock is ignored.
func WithClock(clk Clock) Option {
	return func(c *config) {
		if clk != nil {
			c.clock = clk
		}
	}
}

// WithSeed makes task ids, link tokens and injected faults reproducible.
// Without it the seed is random, so two sandbox processes never hand out the
// same task id.
func WithSeed(seed uint64) Option {
	return func(c *config) { c.seed, c.seeded = seed, true }
}

// WithMaxUploadBytes sets the largest accepted upload file; larger files get
// 400. Values below 1 are ignored.
func WithMaxUploadBytes(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.maxUploadBytes = n
		}
	}
}

// WithPublicURL sets the origin (scheme, host and an optional path prefix, such
// as "https://sandbox.example.com") that result_url links start with. Without
// it links are built from the scheme and Host of the status request.
func WithPublicURL(u string) Option {
	return func(c *config) { c.publicURL = strings.TrimRight(u, "/") }
}

// WithBalance limits the number of charged calls (create and status answers
// with 200) over the life of the sandbox, including charges restored by
// WithState. Once they are used up, create and status answer 402 and charge
// nothing. Negative values count as zero.
func WithBalance(calls int) Option {
	return func(c *config) { c.balance, c.limited = max(calls, 0), true }
}

// WithLinkTTL makes result links expire d after the status call that handed
// them out. An expired link answers 403; a fresh status call returns a fresh
// link. Zero (the default) means links never expire.
func WithLinkTTL(d time.Duration) Option {
	return func(c *config) { c.linkTTL = max(d, 0) }
}

// WithState restores the tasks, counters and id sequence of an earlier
// sandbox, as returned by Server.Snapshot, so that a restarted sandbox still
// answers for the tasks it created. Seed-derived link tokens stay valid.
func WithState(st State) Option {
	return func(c *config) {
		cp := st.clone()
		c.state = &cp
	}
}

// WithFault adds a fault. Faults apply in the order they were added.
func WithFault(f Fault) Option {
	return func(c *config) {
		f.Rate = clampRate(f.Rate)
		f.First = max(f.First, 0)
		f.Delay = max(f.Delay, 0)
		c.faults = append(c.faults, f)
	}
}

// WithFault500 answers 500 instead of serving a fraction rate of the requests
// to the given endpoints (all of them when none is given). Nothing is created
// or charged by such a request.
func WithFault500(rate float64, on ...Endpoint) Option {
	return WithFault(Fault{Kind: Fault500, On: endpoints(on), Rate: rate})
}

// WithFault429 answers 429 with a Retry-After header, in seconds or HTTP-date
// form, instead of serving a fraction rate of the requests to the given
// endpoints (all of them when none is given).
func WithFault429(rate float64, on ...Endpoint) Option {
	return WithFault(Fault{Kind: Fault429, On: endpoints(on), Rate: rate})
}

// WithLatency delays a fraction rate of the answers of the given endpoints
// (all of them when none is given) by d of real time.
func WithLatency(d time.Duration, rate float64, on ...Endpoint) Option {
	return WithFault(Fault{Kind: FaultSlow, On: endpoints(on), Rate: rate, Delay: d})
}

// WithCutDownloads cuts the first n downloads of each task's result file
// midway: part of the file is sent, then the connection is dropped.
// WithCutDownloads(1) cuts every download once.
func WithCutDownloads(n int) Option {
	return WithFault(Fault{Kind: FaultCutDownload, First: n, EachTask: true})
}

// WithLostCreates loses the answer of a fraction rate of the create calls:
// the task is created and charged, but the client gets 500.
func WithLostCreates(rate float64) Option {
	return WithFault(Fault{Kind: FaultLoseCreate, Rate: rate})
}

func endpoints(on []Endpoint) Endpoint {
	var e Endpoint
	for _, x := range on {
		e |= x
	}
	return e
}

func clampRate(f float64) float64 {
	if math.IsNaN(f) || f < 0 {
		return 0
	}
	return min(f, 1)
}
