package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wadeep/wadeep/emulator"
)

// cmdEmulate serves the offline sandbox of the upstream API until
// interrupted. It prints its counters when it stops, on SIGUSR1 (unix) and
// every --report interval; GET emulator.StatsPath answers them too. See
// docs/emulator.md.
func cmdEmulate(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "emulate", "[flags]")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (loopback unless a host is given)")
	key := fs.String("key", emulator.DefaultAPIKey, "the X-API-Key the sandbox accepts")
	speed := fs.Float64("speed", emulator.DefaultSpeed, "numbers per second a task processes (the real service: ~11.5)")
	startDelay := fs.Duration("start-delay", emulator.DefaultStartDelay, "how long a new task stays pending")
	exportDelay := fs.Duration("export-delay", emulator.DefaultExportDelay, "how long a completed task waits before its result is downloadable")
	failureRate := fs.Float64("failure-rate", emulator.DefaultFailureRate, "fraction of numbers the sandbox fails to process")
	fault500 := fs.Float64("fault-500", 0, "fraction of requests answered 500")
	fault429 := fs.Float64("fault-429", 0, "fraction of requests answered 429 with Retry-After")
	cut := fs.Int("cut-downloads", 0, "cut the first N downloads of each result file midway")
	linkTTL := fs.Duration("link-ttl", 0, "result links expire this long after the status call that gave them (0: never)")
	seed := fs.Uint64("seed", 0, "seed of task ids, link tokens and injected faults, for reproducible runs (default: random)")
	var report reportInterval
	fs.Var(&report, "report", "print the counters every `N` seconds (30, or a duration: 30s; default: only at the end, on SIGUSR1 and at GET /_sandbox/stats)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	opts := []emulator.Option{
		emulator.WithAPIKey(*key), emulator.WithSpeed(*speed),
		emulator.WithStartDelay(*startDelay), emulator.WithExportDelay(*exportDelay),
		emulator.WithFailureRate(*failureRate),
		emulator.WithFault500(*fault500), emulator.WithFault429(*fault429),
		emulator.WithCutDownloads(*cut), emulator.WithLinkTTL(*linkTTL),
	}
	if *seed != 0 {
		opts = append(opts, emulator.WithSeed(*seed))
	}
	s := emulator.New(opts...)
	url, stop, err := s.Start(*addr)
	if err != nil {
		return err
	}
	usr1, stopSignal := statsSignal()
	defer stopSignal()
	fmt.Fprintf(env.stderr, "wadeep sandbox listening: --api-url %s%s (key %q, %.1f numbers/s); Ctrl-C stops it\n", url, emulator.BasePath, *key, *speed)
	fmt.Fprintf(env.stderr, "counters: curl %s%s%s\n", url, emulator.StatsPath, statsSignalHint())
	var tick <-chan time.Time
	if report > 0 {
		t := time.NewTicker(time.Duration(report))
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintf(env.stderr, "sandbox stopped: %s\n", statsLine(s.Stats()))
			return stop()
		case <-tick:
			fmt.Fprintf(env.stderr, "sandbox: %s\n", statsLine(s.Stats()))
		case <-usr1:
			fmt.Fprintf(env.stderr, "sandbox: %s\n", statsLine(s.Stats()))
		}
	}
}

// statsLine is the sandbox's counters as one line.
func statsLine(st emulator.Stats) string {
	line := fmt.Sprintf("tasks: %d; charged calls: %d (%s, %d status); downloads: %d; numbers submitted again: %d",
		st.Creates, st.Charged, plural(st.Creates, "creation"), st.StatusCalls, st.Downloads, st.DuplicateUploads)
	if st.CutDownloads > 0 {
		line += fmt.Sprintf("; cut downloads: %d", st.CutDownloads)
	}
	if st.LostCreates > 0 {
		line += fmt.Sprintf("; lost creation answers: %d", st.LostCreates)
	}
	if len(st.Errors) > 0 {
		n, codes := 0, make([]int, 0, len(st.Errors))
		for c, k := range st.Errors {
			n += k
			codes = append(codes, c)
		}
		slices.Sort(codes)
		parts := make([]string, len(codes))
		for i, c := range codes {
			parts[i] = fmt.Sprintf("%d: %d", c, st.Errors[c])
		}
		line += fmt.Sprintf("; error answers: %d (%s)", n, strings.Join(parts, ", "))
	}
	return line
}

// reportInterval is --report: seconds ("30", "0.5") or a duration ("30s").
type reportInterval time.Duration

func (r *reportInterval) String() string { return time.Duration(*r).String() }

func (r *reportInterval) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || f > math.MaxInt64/float64(time.Second) {
			return errors.New("want seconds (30) or a duration (30s)")
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < 0 {
		return errors.New("must not be negative")
	}
	*r = reportInterval(d)
	return nil
}
