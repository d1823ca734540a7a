// Package wadeepbenthos is the wadeep batch processor for Benthos
// (github.com/redpanda-data/benthos/v4): compiled into a custom Benthos
// binary (see cmd/benthos-wadeep), it checks the phone number of each JSON
// message against the upstream and emits the message enriched with its
// profile. Importing the package registers the processor.
//
// Benthos delivers at least once; the processor turns that into "each chunk
// paid once": every batch runs as a wadeep job whose journal lives in a
// directory of state_dir named after the batch's chunks, so a batch that is
// delivered again (after a crash or a nack) resumes its tasks instead of
// creating new ones, and a chunk seen before in another batch is adopted
// from the journal beside it.
package wadeepbenthos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/privacy"
)

// ProfileFields are the keys a checked message gains, in the profile
// table's order. skin_color is never among them (see docs/privacy.md).
var ProfileFields = []string{"number", "country", "status", "whatsapp", "avatar", "category",
	"gender", "age_min", "age_max", "hair_color", "task_id", "checked_at"}

// RejectField is the key a message gains when its value is no number to
// check: the reject reason's code (connector.Reason: "empty", "not a
// number", "too short", "no country code", ...).
const RejectField = "reject_reason"

// inputName names the batch in the journal and in rejects.
const inputName = "benthos"

// ConfigSpec documents the processor's fields; lint and list show them.
func ConfigSpec() *service.ConfigSpec {
	def := connector.DefaultPollPolicy()
	return service.NewConfigSpec().
		Beta().
		Categories("Integration").
		Summary("Checks the phone number of each JSON message with the WhatsApp Bulk Number Checker Deep API and adds the profile to the message.").
		Description(`
Each batch (the input's batching policy decides its size and age) becomes one wadeep job:
the numbers are normalised to E.164, deduplicated within the batch, cut into upload chunks
and sent as tasks; the processor waits for them cost-aware (every status call is charged)
and emits every message of the batch, in order, with the profile fields (`+"`"+strings.Join(ProfileFields, "`, `")+"`"+`)
or, when its value is no number to check, with `+"`reject_reason`"+` (`+"`empty`, `not a number`, `too short`, `no country code`, ..."+`).
A repeated number within a batch gets the profile of its first occurrence.

The journal of each batch is kept in a directory of `+"`state_dir`"+` named after the batch's chunks:
a batch delivered again (after a crash, a restart or a nack) resumes its tasks and is not
charged again for their creation, and a chunk already sent in another batch is adopted.
Keep `+"`state_dir`"+` on durable storage, one per instance.

When the job fails, every message of the batch is flagged with the error (the API key is never
in it): route them with `+"`catch`"+` or the `+"`reject_errored`"+` output so they are nacked and delivered again.
The field `+"`skin_color`"+` of the upstream is never carried.`).
		Fields(
			service.NewURLField("api_url").
				Description("The upstream's base URL (the sandbox of `wadeep emulate` for tests)."),
			service.NewStringField("api_key").Secret().
				Description("The API key (X-API-Key). Never logged nor put in an error."),
			service.NewStringField("user_id").
				Description("The account's user id."),
			service.NewStringField("state_dir").
				Description("Directory of the batches' journals; on durable storage, one per instance."),
			service.NewStringField("field").Default("phone").
				Description("The key of the phone number in each message; a dotted path (`contact.mobile`) reaches into objects."),
			service.NewStringField("target").Default("").
				Description("Where the profile goes: empty merges its fields into the document, a key puts them in an object under it (e.g. `wadeep`)."),
			service.NewStringField("region").Default("").
				Description("Default region (ISO 3166-1 alpha-2) for numbers written without a country code."),
			service.NewIntField("chunk_size").Default(connector.DefaultChunkSize).
				Description("Numbers per upload file (task)."),
			service.NewIntField("parallel").Default(2).
				Description("Tasks of a batch in flight at once."),
			service.NewDurationField("poll_floor").Default(def.Floor.String()).
				Description("Least wait between two status calls of a task."),
			service.NewDurationField("export_min").Default(def.ExportMin.String()).
				Description("Least time the upstream takes to export a result after its last number; a negative duration for an instant sandbox."),
			service.NewStringField("pseudonymize").Default("").
				Description("Path of a key file (at least 32 bytes, not readable by others): the message's number and the profile's `number` become the number's HMAC-SHA-256 under the key, in lower-case hex (stable, so tables still join). Empty keeps numbers in clear."),
			service.NewDurationField("keep_journals").Default("168h").
				Description("How long a batch's journal (its task ids and the profiles as Arrow: personal data) is kept once the batch is done. Older finished journals are deleted when the processor starts and hourly; an unfinished one (tasks paid for, results not downloaded) is never deleted. A batch delivered again after that is paid again, unless `cache` serves it."),
			service.NewStringField("cache").Default("").
				Description("A DuckDB file of profiles (e.g. one `wadeep check --out FILE.duckdb` wrote): numbers with a fresh profile in it are served from it, not uploaded, and every batch's new results are merged into it. Empty: no cache."),
			service.NewDurationField("max_age").Default("720h").
				Description("With `cache`: how old a served profile may be."),
			service.NewStringListField("drop").Default([]any{}).
				Description("Profile fields to leave out of every message (e.g. `gender`, `age_min`, `age_max`, `hair_color`); `number` cannot be dropped."),
		)
}

func init() {
	err := service.RegisterBatchProcessor("wadeep", ConfigSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchProcessor, error) {
			return NewProcessor(conf, mgr)
		})
	if err != nil {
		panic(err)
	}
}

// Processor is the wadeep batch processor. ProcessBatch is safe for
// concurrent use: each batch has its own job and journal.
type Processor struct {
	client   *connector.Client
	log      *service.Logger
	stateDir string
	field    []string
	target   string
	opts     connector.PlanOptions
	parallel int
	poll     connector.PollPolicy
	cache    *profileCache // nil without one

	keep      time.Duration // finished journals older than this are deleted
	pruneMu   sync.Mutex
	lastPrune time.Time
}

// NewProcessor reads the processor's config.
func NewProcessor(conf *service.ParsedConfig, mgr *service.Resources) (*Processor, error) {
	p := &Processor{log: mgr.Logger()}
	apiURL, err := conf.FieldURL("api_url")
	if err != nil {
		return nil, err
	}
	key, err := conf.FieldString("api_key")
	if err != nil {
		return nil, err
	}
	user, err := conf.FieldString("user_id")
	if err != nil {
		return nil, err
	}
	if p.stateDir, err = conf.FieldString("state_dir"); err != nil {
		return nil, err
	}
	if p.stateDir == "" {
		return nil, errors.New("wadeep: state_dir is empty: the journals need a directory")
	}
	field, err := conf.FieldString("field")
	if err != nil {
		return nil, err
	}
	if field == "" {
		return nil, errors.New("wadeep: field is empty")
	}
	p.field = strings.Split(field, ".")
	if p.target, err = conf.FieldString("target"); err != nil {
		return nil, err
	}
	if p.opts.Region, err = conf.FieldString("region"); err != nil {
		return nil, err
	}
	if p.opts.ChunkSize, err = conf.FieldInt("chunk_size"); err != nil {
		return nil, err
	}
	if p.opts.ChunkSize < 1 {
		return nil, fmt.Errorf("wadeep: chunk_size %d: want a positive number", p.opts.ChunkSize)
	}
	if p.parallel, err = conf.FieldInt("parallel"); err != nil {
		return nil, err
	}
	if p.poll.Floor, err = conf.FieldDuration("poll_floor"); err != nil {
		return nil, err
	}
	if p.poll.ExportMin, err = conf.FieldDuration("export_min"); err != nil {
		return nil, err
	}
	if _, err := connector.NewNormalizer(p.opts.Region); err != nil {
		return nil, err
	}
	if p.opts.Privacy, err = privacyPolicy(conf); err != nil {
		return nil, err
	}
	// NewClient's errors never hold the key.
	if p.client, err = connector.NewClient(apiURL.String(), key, user); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(p.stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("wadeep: state_dir: %w", err)
	}
	if p.keep, err = conf.FieldDuration("keep_journals"); err != nil {
		return nil, err
	}
	if p.keep <= 0 {
		return nil, fmt.Errorf("wadeep: keep_journals %s: want a positive duration", p.keep)
	}
	p.prune(time.Now())
	cachePath, err := conf.FieldString("cache")
	if err != nil {
		return nil, err
	}
	if cachePath != "" {
		maxAge, err := conf.FieldDuration("max_age")
		if err != nil {
			return nil, err
		}
		keyID := ""
		if ps := p.opts.Privacy.Pseudonymizer; ps != nil {
			keyID = ps.KeyID()
		}
		if p.cache, err = openCache(context.Background(), cachePath, maxAge, keyID); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// prune deletes the finished journals older than keep_journals, at most
// once an hour; a journal in use or unfinished stays (connector.RemoveJob).
func (p *Processor) prune(now time.Time) {
	p.pruneMu.Lock()
	defer p.pruneMu.Unlock()
	if !p.lastPrune.IsZero() && now.Sub(p.lastPrune) < time.Hour {
		return
	}
	p.lastPrune = now
	jobs, err := connector.ListJobs(p.stateDir)
	if err != nil {
		p.log.Warnf("wadeep: listing the journals of state_dir: %v", err)
		return
	}
	removed := 0
	for _, j := range jobs {
		if !strings.HasPrefix(j.ID, "batch-") || j.InUse || j.Incomplete() || now.Sub(j.Created) < p.keep {
			continue
		}
		if _, err := connector.RemoveJob(j.Dir, connector.RemoveOptions{}); err != nil {
			p.log.Warnf("wadeep: deleting journal %s: %v", j.ID, err)
			continue
		}
		removed++
	}
	if removed > 0 {
		p.log.Infof("wadeep: deleted %d finished batch journals older than %s (keep_journals)", removed, p.keep)
	}
}

// ProcessBatch checks the batch's numbers and returns the batch, every
// message enriched in place, in order.
func (p *Processor) ProcessBatch(ctx context.Context, batch service.MessageBatch) ([]service.MessageBatch, error) {
	p.prune(time.Now())
	docs := make([]map[string]any, len(batch))
	values := make([]*string, len(batch)) // nil: no number in the message
	for i, msg := range batch {
		v, err := msg.AsStructuredMut()
		if err != nil {
			msg.SetError(fmt.Errorf("wadeep: message is not JSON: %w", err))
			continue
		}
		doc, ok := v.(map[string]any)
		if !ok {
			msg.SetError(errors.New("wadeep: message is not a JSON object"))
			continue
		}
		docs[i] = doc
		values[i] = p.value(doc)
	}
	profiles, rows, err := p.run(ctx, values)
	if err != nil {
		for _, msg := range batch {
			msg.SetError(err)
		}
		return []service.MessageBatch{batch}, nil
	}
	for i, msg := range batch {
		if docs[i] == nil {
			continue
		}
		out := map[string]any{}
		switch r := rows[i]; {
		case r.number != "":
			key := r.number
			if ps := p.opts.Privacy.Pseudonymizer; ps != nil {
				key = ps.Number(r.number) // the profiles are the job's output
			}
			prof, ok := profiles[key]
			if !ok {
				msg.SetError(fmt.Errorf("wadeep: %s: no profile in the task's result", key))
				out[RejectField] = "missing"
				break
			}
			for k, v := range prof {
				out[k] = v
			}
		default:
			out[RejectField] = r.reason
		}
		if ps := p.opts.Privacy.Pseudonymizer; ps != nil && values[i] != nil {
			// The message's own number, as the profile has it.
			p.setValue(docs[i], ps.Value(strings.TrimSpace(*values[i]), rows[i].number))
		}
		if p.target == "" {
			for k, v := range out {
				docs[i][k] = v
			}
		} else {
			docs[i][p.target] = out
		}
		msg.SetStructuredMut(docs[i])
	}
	return []service.MessageBatch{batch}, nil
}

// Close closes the cache; journals are closed after each batch.
func (p *Processor) Close(context.Context) error {
	if p.cache != nil {
		return p.cache.close()
	}
	return nil
}

// value reads the number at the configured field, or nil.
func (p *Processor) value(doc map[string]any) *string {
	var v any = doc
	for _, k := range p.field {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = m[k]; !ok {
			return nil
		}
	}
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = t.String()
	case float64:
		if t != math.Trunc(t) || math.Abs(t) > 1e18 {
			return nil
		}
		s = strconv.FormatInt(int64(t), 10)
	case int64:
		s = strconv.FormatInt(t, 10)
	case int:
		s = strconv.Itoa(t)
	default:
		return nil
	}
	return &s
}

// setValue replaces the value at the configured field (which value found).
func (p *Processor) setValue(doc map[string]any, v string) {
	m := doc
	for _, k := range p.field[:len(p.field)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	m[p.field[len(p.field)-1]] = v
}

// privacyPolicy reads pseudonymize and drop.
func privacyPolicy(conf *service.ParsedConfig) (privacy.Policy, error) {
	var pol privacy.Policy
	var err error
	if pol.Drop, err = conf.FieldStringList("drop"); err != nil {
		return pol, err
	}
	if _, err := pol.Schema(arrowconv.Schema()); err != nil {
		return pol, fmt.Errorf("wadeep: drop: %w", err)
	}
	path, err := conf.FieldString("pseudonymize")
	if err != nil || path == "" {
		return pol, err
	}
	key, err := privacy.LoadKey(path)
	if err != nil {
		return pol, fmt.Errorf("wadeep: pseudonymize: %w", err)
	}
	pol.Pseudonymizer, err = privacy.NewPseudonymizer(key)
	return pol, err
}

// row is what became of one message's value: the number it is, or why not.
type row struct {
	number string
	reason string
}

// run plans the batch's values, runs the job and returns the profiles by
// number and each message's row.
func (p *Processor) run(ctx context.Context, values []*string) (map[string]map[string]any, []row, error) {
	rows := make([]row, len(values))
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	at := make([]int, 0, len(values)) // plan row (1-based) - 1 → message index
	for i, v := range values {
		if v == nil {
			rows[i].reason = string(connector.ReasonEmpty)
			continue
		}
		b.Append(*v)
		at = append(at, i)
	}
	if len(at) == 0 {
		return nil, rows, nil
	}
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "phone", Type: arrow.BinaryTypes.String}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(col.Len()))
	defer rec.Release()
	rr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	if err != nil {
		return nil, nil, fmt.Errorf("wadeep: %w", err)
	}
	defer rr.Release()
	plan, err := connector.NewPlan([]connector.Input{{Name: inputName, Records: rr, Column: "phone"}}, p.opts)
	if err != nil {
		return nil, nil, err
	}
	for i := range at {
		rows[at[i]].reason = string(connector.ReasonEmpty) // blank unless met below
	}
	for i, n := range plan.Numbers {
		rows[at[plan.Origin(i).Row-1]] = row{number: n.String()}
	}
	for _, r := range plan.Rejects {
		if r.Reason == connector.ReasonDuplicate {
			rows[at[r.Row-1]] = rows[at[r.DuplicateOf.Row-1]]
			continue
		}
		rows[at[r.Row-1]] = row{reason: string(r.Reason)}
	}
	if p.cache != nil {
		use, err := p.cache.use(ctx, plan)
		if err != nil {
			return nil, nil, err
		}
		if use.Numbers > 0 {
			p.log.Debugf("wadeep: %d numbers served from the cache, %d tasks spared", use.Numbers, use.Tasks)
		}
	}
	if len(plan.Numbers) == 0 {
		return nil, rows, nil
	}
	profiles, err := p.runJob(ctx, plan)
	return profiles, rows, err
}

// runJob runs the plan's job on its journal and collects the profiles.
func (p *Processor) runJob(ctx context.Context, plan *connector.Plan) (map[string]map[string]any, error) {
	dir := filepath.Join(p.stateDir, batchID(p.client, plan))
	journal, err := connector.OpenJournal(dir, plan, p.client)
	if err != nil {
		return nil, err
	}
	defer journal.Close()
	profiles := make(map[string]map[string]any, len(plan.Numbers))
	var back backlog
	defer back.release()
	job := &connector.Job{Client: p.client, Plan: plan, Journal: journal, Parallel: p.parallel, Poll: p.poll,
		Out: func(rec arrow.RecordBatch) error {
			collect(rec, profiles, plan.Options.Privacy.Drop)
			if p.cache != nil && !fromCache(rec) {
				back.add(rec)
			}
			return nil
		},
		ChunkDone: func(c connector.ChunkDone) error {
			p.log.Infof("wadeep: chunk %d of %d: task %s, %d numbers (resumed %t, %d creations and %d status calls charged)",
				c.Index+1, len(plan.Chunks), c.TaskID, c.Numbers, c.Resumed, c.Creates, c.Statuses)
			back.chunkDone(c)
			return nil
		},
	}
	if p.cache != nil {
		job.Cache = p.cache
	}
	schema, err := job.Schema()
	if err != nil {
		return nil, err
	}
	back.schema = schema
	sum, err := job.Run(ctx)
	if err != nil {
		return nil, err
	}
	if p.cache != nil {
		if err := p.cache.merge(ctx, &back); err != nil {
			return nil, err
		}
	}
	p.log.Debugf("wadeep: batch of %d numbers: %d tasks, %d created, %d resumed, %d charged calls",
		len(plan.Numbers), sum.Tasks, sum.Created, sum.Resumed, sum.Calls.Charged())
	return profiles, nil
}

// batchID names a batch's journal directory after what identifies its job,
// so that the same batch delivered again finds its journal.
func batchID(client *connector.Client, plan *connector.Plan) string {
	h := sha256.New()
	o := plan.Options
	fmt.Fprintln(h, client.BaseURL(), o.Region, o.ChunkSize, o.Shard.String())
	for _, c := range plan.Chunks {
		fmt.Fprintln(h, c.Hash)
	}
	return "batch-" + hex.EncodeToString(h.Sum(nil))[:20]
}

// fromCache reports whether a batch came from the cache: a job with a cache
// gives batches all of one source.
func fromCache(rec arrow.RecordBatch) bool {
	idx := rec.Schema().FieldIndices(connector.ColSource)
	if len(idx) != 1 || rec.NumRows() == 0 {
		return false
	}
	return value(rec.Column(idx[0]), 0) == connector.SourceCache
}

// collect adds the profile fields of each row of rec to profiles, but the
// dropped ones.
func collect(rec arrow.RecordBatch, profiles map[string]map[string]any, drop []string) {
	idx := map[string]int{}
	for i, f := range rec.Schema().Fields() {
		idx[f.Name] = i
	}
	num, ok := idx["number"]
	if !ok {
		return
	}
	for r := 0; r < int(rec.NumRows()); r++ {
		prof := make(map[string]any, len(ProfileFields))
		for _, name := range ProfileFields {
			if slices.Contains(drop, name) {
				continue
			}
			c, ok := idx[name]
			if !ok {
				prof[name] = nil
				continue
			}
			prof[name] = value(rec.Column(c), r)
		}
		if n, ok := value(rec.Column(num), r).(string); ok {
			profiles[n] = prof
		}
	}
}

// value is a JSON value of a[i].
func value(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch t := a.(type) {
	case *array.String:
		return t.Value(i)
	case *array.Boolean:
		return t.Value(i)
	case *array.Int16:
		return int64(t.Value(i))
	case *array.Int32:
		return int64(t.Value(i))
	case *array.Int64:
		return t.Value(i)
	case *array.Timestamp:
		unit := t.DataType().(*arrow.TimestampType).Unit
		return t.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano)
	case *array.Dictionary:
		return value(t.Dictionary(), t.GetValueIndex(i))
	default:
		return a.ValueStr(i)
	}
}
