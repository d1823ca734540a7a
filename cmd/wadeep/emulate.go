package main

import (
	"context"
	"fmt"

	"github.com/wadeep/wadeep/emulator"
)

// cmdEmulate serves the offline sandbox of the upstream API until
// interrupted. See docs/emulator.md.
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
	fmt.Fprintf(env.stderr, "wadeep sandbox listening: --api-url %s%s (key %q, %.1f numbers/s); Ctrl-C stops it\n", url, emulator.BasePath, *key, *speed)
	<-ctx.Done()
	st := s.Stats()
	fmt.Fprintf(env.stderr, "sandbox stopped: %d tasks created, %d status calls, %d charged, %d downloads\n", st.Creates, st.StatusCalls, st.Charged, st.Downloads)
	return stop()
}
