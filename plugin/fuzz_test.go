package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/internal/fuzzseed"
)

// The fuzz targets of what one side of the plugin protocol decodes from
// the other: Arrow IPC batches and schemas (FuzzDecodeBatch, in
// wire_test.go), the config JSON (FuzzDecodeConfig), checkpoints
// (FuzzCheckpoint) and gRPC error statuses with their details
// (FuzzStatus). Their seeds are under testdata; TestWireSeeds writes the
// IPC ones (-update).

var update = flag.Bool("update", false, "rewrite the generated seed files under testdata")

// wireSeeds are the IPC messages the two sides send, by seed file name.
func wireSeeds(t testing.TB) map[string][]byte {
	mem := memory.DefaultAllocator
	out := map[string][]byte{
		"schema-profiles.arrows": encodeSchema(arrowconv.Schema("profile_name")),
		"schema-rejects.arrows":  encodeSchema(connector.RejectSchema()),
	}
	var buf bytes.Buffer
	batch := func(name string, rec arrow.RecordBatch) {
		defer rec.Release()
		require.NoError(t, encodeBatch(&buf, rec, mem))
		out[name] = bytes.Clone(buf.Bytes())
	}
	batch("numbers.arrows", stringBatch(t, mem, "+41798284651", "", "079 828 46 51", "+33612345678"))

	rb := array.NewRecordBuilder(mem, connector.RejectSchema())
	rb.Field(0).(*array.StringBuilder).AppendValues([]string{"crm.csv", "crm.csv"}, nil)
	rb.Field(1).(*array.Int64Builder).AppendValues([]int64{3, 7}, nil)
	rb.Field(2).(*array.StringBuilder).AppendValues([]string{"079 828", `\x07+41`}, nil)
	rb.Field(3).(*array.StringBuilder).AppendValues([]string{"too short", "control characters"}, nil)
	rb.Field(4).(*array.StringBuilder).AppendValues([]string{"too short for Switzerland (CH, +41)", ""}, []bool{true, false})
	batch("rejects.arrows", rb.NewRecordBatch())
	rb.Release()

	pb := array.NewRecordBuilder(mem, arrowconv.Schema())
	for i, f := range arrowconv.Schema().Fields() {
		switch b := pb.Field(i).(type) {
		case *array.StringBuilder:
			b.AppendValues([]string{"+41798284651", "+33612345678"}, nil)
		case *array.BinaryDictionaryBuilder:
			require.NoError(t, b.AppendString(arrowconv.StatusChecked))
			require.NoError(t, b.AppendString(arrowconv.StatusFailed))
		case *array.BooleanBuilder:
			b.AppendValues([]bool{true, false}, []bool{true, false})
		case *array.Int16Builder:
			b.AppendValues([]int16{25, 0}, []bool{true, false})
		case *array.TimestampBuilder:
			b.AppendValues([]arrow.Timestamp{1774944000000, 0}, []bool{true, false})
		default:
			t.Fatalf("field %s of type %s", f.Name, f.Type)
		}
	}
	batch("profiles.arrows", pb.NewRecordBatch())
	pb.Release()
	return out
}

// TestWireSeeds keeps testdata/ipc what the sides send now: each seed
// decodes, as schema or batch, like the message written now (-update
// writes them again).
func TestWireSeeds(t *testing.T) {
	for name, want := range wireSeeds(t) {
		path := filepath.Join("testdata", "ipc", name)
		if *update {
			require.NoError(t, os.WriteFile(path, want, 0o644))
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err, "go test ./plugin -run TestWireSeeds -update writes it")
		ws, err := decodeSchema(want)
		require.NoError(t, err)
		gs, err := decodeSchema(got)
		require.NoError(t, err, name)
		require.True(t, ws.Equal(gs), name)
		if strings.HasPrefix(name, "schema-") {
			continue
		}
		wr, err := decodeBatch(want, nil, nil)
		require.NoError(t, err)
		gr, err := decodeBatch(got, ws, nil)
		require.NoError(t, err, name)
		require.True(t, array.RecordEqual(wr, gr), name)
		wr.Release()
		gr.Release()
	}
}

// FuzzDecodeConfig decodes arbitrary config JSON as the plugin does (Validate,
// Discover, Write and Read all start so), seeded from testdata/config: a
// config or a *ConfigError naming fields by their JSON names, and the error
// the plugin sends (one line) never holds the API key, as given or escaped.
func FuzzDecodeConfig(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "testdata/config/*.json") {
		f.Add(s.Data)
	}
	fields := map[string]bool{"(config)": true}
	for _, f := range strings.Fields("api_url api_key user_id region column state_dir chunk_size parallel poll_floor export_min enrich pass_through resubmit_lost") {
		fields[f] = true
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := decodeConfig(b)
		if err == nil {
			err = validate(cfg)
		}
		if err == nil {
			again, merr := json.Marshal(cfg)
			require.NoError(t, merr)
			back, derr := decodeConfig(again)
			require.NoError(t, derr)
			require.Equal(t, cfg.String(), back.String(), "a valid config round-trips")
			return
		}
		var ce *ConfigError
		require.True(t, errors.As(err, &ce), "%T %v", err, err)
		for _, fe := range ce.Fields {
			require.True(t, fields[fe.Field], "field %q", fe.Field)
		}
		st := status.Convert(toStatus(err, cfg.APIKey))
		require.Equal(t, codes.InvalidArgument, st.Code())
		msg := st.Message()
		require.NotContains(t, msg, "\n", "one line")
		if len(cfg.APIKey) >= 4 {
			require.NotContains(t, msg, cfg.APIKey)
			require.NotContains(t, msg, strings.Trim(strconv.Quote(cfg.APIKey), `"`))
		}
		var back *ConfigError
		require.True(t, errors.As(fromStatus(context.Background(), st.Err(), nil), &back), "the host sees the config error")
		require.Len(t, back.Fields, len(ce.Fields))
	})
}

// FuzzCheckpoint reads arbitrary checkpoints as Read's FromCheckpoint
// does, seeded from testdata/checkpoint: the position a checkpoint of this
// stream holds, or an error of errCheckpoint; and a checkpoint written for
// a position reads back as that position, for this stream only.
func FuzzCheckpoint(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "testdata/checkpoint/*.json") {
		f.Add(s.Data, int64(3), int64(40))
	}
	const job = "5f9c4a2b1e3d7f60"
	f.Fuzz(func(t *testing.T, cp []byte, batch, row int64) {
		pos, err := decodeCheckpoint(cp, job)
		if err != nil {
			require.ErrorIs(t, err, errCheckpoint)
			require.NotContains(t, err.Error(), "\n")
		} else {
			require.True(t, pos.Batch >= 0 && pos.Row >= 0, "%+v", pos)
		}
		if batch < 0 || row < 0 {
			return
		}
		want := position{Batch: batch, Row: row}
		got, err := decodeCheckpoint(encodeCheckpoint(job, want), job)
		require.NoError(t, err)
		require.Equal(t, want, got)
		_, err = decodeCheckpoint(encodeCheckpoint(job+"x", want), job)
		require.ErrorIs(t, err, errCheckpoint, "another stream's checkpoint")
	})
}

// FuzzStatus turns arbitrary gRPC statuses (a google.rpc.Status, as the
// grpc-status-details-bin trailer carries it) into the host's error,
// seeded from testdata/status: never nil, the code kept, a *ConfigError
// only from InvalidArgument with field errors.
func FuzzStatus(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "testdata/status/*.bin") {
		f.Add(s.Data)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p spb.Status
		if proto.Unmarshal(b, &p) != nil {
			return
		}
		st := status.FromProto(&p)
		for _, exited := range []bool{false, true} {
			err := fromStatus(context.Background(), st.Err(), func() bool { return exited })
			if st.Code() == codes.OK {
				require.NoError(t, err)
				continue
			}
			require.Error(t, err)
			var ce *ConfigError
			if errors.As(err, &ce) {
				require.Equal(t, codes.InvalidArgument, st.Code())
				require.NotEmpty(t, ce.Fields)
				continue
			}
			require.Equal(t, st.Code(), status.Code(err))
			if exited && (st.Code() == codes.Unavailable || st.Code() == codes.Internal || st.Code() == codes.Unknown) {
				require.ErrorIs(t, err, ErrExited)
			}
		}
	})
}

// TestStatusSeeds writes testdata/status (-update) and checks they decode
// to the statuses the plugin sends.
func TestStatusSeeds(t *testing.T) {
	seeds := map[string]error{
		"config.bin":    toStatus(&ConfigError{Fields: []FieldError{{Field: "api_key", Problem: "required"}, {Field: "region", Problem: `"XX" is not a known ISO 3166-1 alpha-2 code`}}}, "k"),
		"canceled.bin":  toStatus(context.Canceled, "k"),
		"deadline.bin":  toStatus(context.DeadlineExceeded, "k"),
		"payment.bin":   toStatus(connector.ErrPayment, "k"),
		"unknown.bin":   toStatus(errors.New("plugin: something else"), "k"),
		"exhausted.bin": toStatus(errTooLarge, "k"),
	}
	for name, err := range seeds {
		b, merr := proto.Marshal(status.Convert(err).Proto())
		require.NoError(t, merr)
		path := filepath.Join("testdata", "status", name)
		if *update {
			require.NoError(t, os.WriteFile(path, b, 0o644))
		}
		got, rerr := os.ReadFile(path)
		require.NoError(t, rerr, "go test ./plugin -run TestStatusSeeds -update writes it")
		var p spb.Status
		require.NoError(t, proto.Unmarshal(got, &p))
		require.Equal(t, status.Code(err), codes.Code(p.GetCode()), name)
	}
}
