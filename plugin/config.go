package plugin

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/privacy"
)

// Config is what wadeep check takes, for one job. Its JSON form (the field
// tags) is what crosses the process boundary and what ConfigSchema
// describes. The API key crosses to the plugin, never back: no message,
// log line or error from the plugin carries it. String redacts it.
type Config struct {
	APIURL string `json:"api_url,omitempty"` // "" means the vendor's base URL
	APIKey string `json:"api_key"`
	UserID string `json:"user_id"`
	Region string `json:"region,omitempty"` // ISO 3166-1 alpha-2, for numbers in national format
	Column string `json:"column,omitempty"` // the input column holding the numbers; "" detects it
	// StateDir holds the job: the journal, the kept profiles and the input
	// table Write was given (personal data, kept 0600 until the directory
	// is removed). Required; one job per directory.
	StateDir  string        `json:"state_dir"`
	ChunkSize int           `json:"chunk_size,omitempty"` // numbers per upload file; 0 means 20000
	Parallel  int           `json:"parallel,omitempty"`   // tasks in flight; 0 means 2
	PollFloor time.Duration `json:"poll_floor,omitempty"` // least wait between two status calls of a task (ns); 0 means 5 s
	// ExportMin is the least time the upstream takes to export after its
	// last number (ns); 0 means 2 s, negative none (an instant sandbox).
	ExportMin time.Duration `json:"export_min,omitempty"`
	// Enrich makes Read stream one row per input row: the input's columns
	// and its number's profile (Schemas.Enriched).
	Enrich bool `json:"enrich,omitempty"`
	// PassThrough names upstream result columns beyond the profile schema
	// to carry, in lower snake case, as utf8.
	PassThrough []string `json:"pass_through,omitempty"`
	// ResubmitLost uploads again a chunk whose creation answer was lost
	// (may be charged twice).
	ResubmitLost bool `json:"resubmit_lost,omitempty"`
	// Pseudonymize is the absolute path of a key file (at least 32 bytes,
	// not readable by others) on the plugin's machine: every number in
	// Read's stream and Write's rejects becomes its HMAC-SHA-256 under the
	// key (privacy.Pseudonymizer). The path crosses, never the key.
	Pseudonymize string `json:"pseudonymize,omitempty"`
	// Drop names profile columns to leave out of the stream.
	Drop []string `json:"drop,omitempty"`
}

// policy is the config's privacy policy; the key file is read here, in
// the plugin's process.
func (c Config) policy() (privacy.Policy, error) {
	pol := privacy.Policy{Drop: c.Drop}
	if c.Pseudonymize == "" {
		return pol, nil
	}
	key, err := privacy.LoadKey(c.Pseudonymize)
	if err == nil {
		pol.Pseudonymizer, err = privacy.NewPseudonymizer(key)
	}
	return pol, err
}

// String is the config without its API key.
func (c Config) String() string {
	if c.APIKey != "" {
		c.APIKey = "[redacted]"
	}
	type plain Config
	return fmt.Sprintf("%+v", plain(c))
}

// GoString is String, so %#v does not print the key either.
func (c Config) GoString() string { return c.String() }

// LogValue is String, so log/slog does not print the key either (its
// JSON handler would otherwise marshal the config, key and all). A logger
// that marshals values to JSON itself (hclog's JSON format, zap) must be
// given String: the JSON form is the wire form, and carries the key.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

//go:embed config.schema.json
var configSchema []byte

// ConfigSchema is the JSON Schema of Config's JSON form.
func ConfigSchema() []byte { return append([]byte(nil), configSchema...) }

// FieldError is one bad field of a Config, by its JSON name.
type FieldError struct {
	Field   string // "api_key", "state_dir", ...
	Problem string
}

// ConfigError is a Config that cannot run: every bad field, in field order.
type ConfigError struct {
	Fields []FieldError
}

func (e *ConfigError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Problem
	}
	return "plugin: config: " + strings.Join(parts, "; ")
}

// validate checks cfg without any network call.
func validate(cfg Config) error {
	var errs []FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if cfg.APIURL != "" {
		if u, err := url.Parse(cfg.APIURL); err == nil && u.User != nil {
			bad("api_url", "must not carry credentials (user:password@); give the key in api_key")
		} else if _, err := connector.NewClient(cfg.APIURL, "k", "u"); err != nil {
			bad("api_url", "%s", strings.TrimPrefix(err.Error(), "connector: "))
		}
	}
	if cfg.APIKey == "" {
		bad("api_key", "required")
	}
	if cfg.UserID == "" {
		bad("user_id", "required")
	}
	if cfg.Region != "" {
		if _, err := connector.NewNormalizer(cfg.Region); err != nil {
			bad("region", "%q is not a known ISO 3166-1 alpha-2 code", cfg.Region)
		}
	}
	if arrowconv.NeverCarried(cfg.Column) {
		bad("column", "%q is a column wadeep never carries (docs/privacy.md)", cfg.Column)
	}
	switch {
	case cfg.StateDir == "":
		bad("state_dir", "required (one directory per job)")
	case !filepath.IsAbs(cfg.StateDir):
		bad("state_dir", "%q: want an absolute path (the plugin's working directory is not the host's)", cfg.StateDir)
	}
	if cfg.ChunkSize < 0 {
		bad("chunk_size", "%d: want 0 (the default, 20000) or a positive number", cfg.ChunkSize)
	}
	if cfg.Parallel < 0 {
		bad("parallel", "%d: want 0 (the default, 2) or a positive number", cfg.Parallel)
	}
	if cfg.PollFloor < 0 {
		bad("poll_floor", "%v: want 0 (the default, 5s) or a positive duration", cfg.PollFloor)
	}
	if len(cfg.PassThrough) > 0 {
		job := &connector.Job{PassThrough: cfg.PassThrough}
		if _, err := job.Schema(); err != nil {
			bad("pass_through", "%s", strings.TrimPrefix(err.Error(), "connector: pass-through column "))
		}
	}
	switch {
	case cfg.Pseudonymize == "":
	case !filepath.IsAbs(cfg.Pseudonymize):
		bad("pseudonymize", "%q: want an absolute path (the plugin's working directory is not the host's)", cfg.Pseudonymize)
	default:
		if _, err := cfg.policy(); err != nil {
			bad("pseudonymize", "%s", strings.TrimPrefix(err.Error(), "privacy: "))
		}
	}
	if len(cfg.Drop) > 0 {
		pol := privacy.Policy{Drop: cfg.Drop}
		if _, err := pol.Schema(arrowconv.Schema(cfg.PassThrough...)); err != nil {
			bad("drop", "%s", strings.TrimPrefix(err.Error(), "privacy: "))
		}
	}
	if len(errs) > 0 {
		return &ConfigError{Fields: errs}
	}
	return nil
}

// Validate checks cfg without a network call (the Connector method of
// the in-process value).
func (p *InProcess) Validate(ctx context.Context, cfg Config) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return validate(cfg)
}
