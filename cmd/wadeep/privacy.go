package main

import (
	"context"
	"flag"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/harness"
	"github.com/wadeep/wadeep/privacy"
)

// privacyFlags are --pseudonymize and --drop, of every command that writes
// profiles.
type privacyFlags struct {
	keyFile string
	drop    string
	pol     privacy.Policy
}

func (f *privacyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.keyFile, "pseudonymize", "", "replace every number in the outputs by its HMAC-SHA-256 under the key in this file (at least 32 bytes, not readable by others): stable across runs, so tables still join")
	fs.StringVar(&f.drop, "drop", "", "profile columns to leave out of every output, comma-separated (e.g. gender,age_min,age_max,hair_color)")
}

// policy reads the key file and checks --drop against the columns the
// output will have (the profile schema and passThrough), before anything
// is called.
func (f *privacyFlags) policy(passThrough []string) (privacy.Policy, error) {
	pol := privacy.Policy{Drop: splitList(f.drop)}
	if f.keyFile != "" {
		key, err := privacy.LoadKey(f.keyFile)
		if err != nil {
			return pol, usageError{"--pseudonymize: " + userMessage(err)}
		}
		if pol.Pseudonymizer, err = privacy.NewPseudonymizer(key); err != nil {
			return pol, usageError{"--pseudonymize: " + userMessage(err)}
		}
	}
	if _, err := pol.Schema(arrowconv.Schema(passThrough...)); err != nil {
		return pol, usageError{"--drop: " + userMessage(err)}
	}
	f.pol = pol
	return pol, nil
}

// keyID is what a DuckDB file records of the run's numbers: the key's id,
// or "" for numbers in clear.
func (f *privacyFlags) keyID() string {
	if f.pol.Pseudonymizer == nil {
		return ""
	}
	return f.pol.Pseudonymizer.KeyID()
}

// useDB checks, before any call, that a DuckDB --out or --cache holds
// numbers of the run's form (harness.DB.UseNumbers).
func (f *privacyFlags) useDB(ctx context.Context, flagName string, d *harness.DB) error {
	if d == nil {
		return nil
	}
	if err := d.UseNumbers(ctx, f.keyID()); err != nil {
		return usageError{flagName + ": " + userMessage(err)}
	}
	return nil
}

// privateOut applies a policy to the batches of a command that writes
// profile tables it did not get from a Job (convert, download): the
// Job applies the plan's policy itself.
type privateOut struct {
	pol    privacy.Policy
	schema *arrow.Schema // the policy's schema of the first batch's
	write  func(arrow.RecordBatch) error
}

func (p *privateOut) add(rec arrow.RecordBatch) error {
	if p.pol.IsZero() {
		return p.write(rec)
	}
	if p.schema == nil {
		// A table read back may lack a --drop column already (checked
		// against the profile schema before): nothing to drop there.
		p.pol.Drop = slices.DeleteFunc(slices.Clone(p.pol.Drop), func(name string) bool { return !rec.Schema().HasField(name) })
		s, err := p.pol.Schema(rec.Schema())
		if err != nil {
			return err
		}
		p.schema = s
	}
	out, err := p.pol.Apply(memory.DefaultAllocator, rec, p.schema, privacy.ColNumber)
	if err != nil {
		return err
	}
	defer out.Release()
	return p.write(out)
}
