package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/wadeep/wadeep/connector"
)

// apiFlags are the flags every command that calls the upstream takes.
type apiFlags struct {
	url, key, keyFile, userID string
	timeout                   time.Duration
}

func (a *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.url, "api-url", "", "API base URL (env WADEEP_API_URL; default "+connector.DefaultBaseURL+"; a bare host gets the default path)")
	fs.StringVar(&a.key, "api-key", "", "API key (env WADEEP_API_KEY); prefer the env var or --api-key-file, which stay out of shell history")
	fs.StringVar(&a.keyFile, "api-key-file", "", "file holding the API key (env WADEEP_API_KEY_FILE)")
	fs.StringVar(&a.userID, "user-id", "", "user id (env WADEEP_USER_ID)")
	fs.DurationVar(&a.timeout, "call-timeout", 60*time.Second, "timeout of one API call")
}

// client resolves flags, then the environment, into a Client. The key is
// never echoed, not even in errors.
func (a *apiFlags) client(env *cliEnv, opts ...connector.ClientOption) (*connector.Client, error) {
	pick := func(flagVal, envName string) string {
		if flagVal != "" {
			return flagVal
		}
		return env.getenv(envName)
	}
	// The most explicit source wins: flags before the environment, and a
	// key given directly before a key file at the same level.
	key, err := firstKey(
		keySource{value: a.key}, keySource{file: a.keyFile, from: "--api-key-file"},
		keySource{value: env.getenv("WADEEP_API_KEY")}, keySource{file: env.getenv("WADEEP_API_KEY_FILE"), from: "WADEEP_API_KEY_FILE"})
	if err != nil {
		return nil, err
	}
	c, err := connector.NewClient(pick(a.url, "WADEEP_API_URL"), key, pick(a.userID, "WADEEP_USER_ID"),
		append([]connector.ClientOption{connector.WithHTTPClient(&http.Client{Timeout: a.timeout})}, opts...)...)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return c, nil
}

// userIDFrom is the user id as the client got it.
func (a *apiFlags) userIDFrom(env *cliEnv) string {
	if a.userID != "" {
		return a.userID
	}
	return env.getenv("WADEEP_USER_ID")
}

// keySource is a key given directly, or the file named by from.
type keySource struct{ value, file, from string }

func firstKey(sources ...keySource) (string, error) {
	for _, s := range sources {
		if s.value != "" {
			return s.value, nil
		}
		if s.file != "" {
			return readKeyFile(s)
		}
	}
	return "", nil
}

// maxKeyFile bounds an API key file: a key is a line of text, and a path
// given by mistake (a log, /dev/zero) must not be read whole.
const maxKeyFile = 4 << 10

// readKeyFile reads the API key from the file s names, up to maxKeyFile
// bytes, trimmed. Its errors name the file by s.from, not by its path: the
// path may be the key itself, given where its file's path goes.
func readKeyFile(s keySource) (string, error) {
	cannot := func(err error) error {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return usagef("%s: cannot read that file: %v (its name is not repeated, in case it is the key itself)", s.from, err)
	}
	f, err := os.Open(s.file)
	if err != nil {
		return "", cannot(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return "", cannot(err)
	}
	if len(b) > maxKeyFile {
		return "", usagef("%s: that file is longer than %d bytes, more than a key (its name is not repeated, in case it is the key itself)", s.from, maxKeyFile)
	}
	return strings.TrimSpace(string(b)), nil
}

// task makes the client and fetches one task (a charged call).
func (a *apiFlags) task(ctx context.Context, env *cliEnv, id string) (*connector.Client, *connector.Task, error) {
	c, err := a.client(env)
	if err != nil {
		return nil, nil, err
	}
	t, err := c.Task(ctx, id)
	return c, t, err
}
