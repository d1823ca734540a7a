package plugin

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/wadeep/wadeep/connector"
	pb "github.com/wadeep/wadeep/plugin/internal/proto"
)

// ErrExited is wrapped by the error of a call the plugin process did not
// live to answer (it crashed, or was killed).
var ErrExited = errors.New("plugin: the wadeep plugin process exited")

// redact removes the API key from s: a last guard, as no message is meant
// to hold it. It looks for the key as it is and as %q writes it (a config
// error quotes the value of a field, and a key in the wrong field is still
// the key).
func redact(s, key string) string {
	if len(key) >= 4 {
		s = strings.ReplaceAll(s, key, "[redacted]")
		if q := strconv.Quote(key); q[1:len(q)-1] != key {
			s = strings.ReplaceAll(s, q[1:len(q)-1], "[redacted]")
		}
	}
	return s
}

// toStatus is the gRPC status of err as the plugin sends it: a code and
// the one-line message the CLI prints, without the key.
func toStatus(err error, key string) error {
	if err == nil {
		return nil
	}
	msg := redact(err.Error(), key)
	var ce *ConfigError
	switch {
	case errors.As(err, &ce):
		st := status.New(codes.InvalidArgument, msg)
		if d, derr := st.WithDetails(protoadapt.MessageV1Of(fieldErrorsPB(ce.Fields))); derr == nil {
			st = d
		}
		return st.Err()
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, msg)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, msg)
	case errors.Is(err, errNoJob), errors.Is(err, errCheckpoint):
		return status.Error(codes.FailedPrecondition, msg)
	case errors.Is(err, errTooLarge):
		return status.Error(codes.ResourceExhausted, msg)
	case errors.Is(err, connector.ErrUnauthorized):
		return status.Error(codes.Unauthenticated, msg)
	case errors.Is(err, connector.ErrPayment), errors.Is(err, connector.ErrForbidden):
		return status.Error(codes.PermissionDenied, msg)
	case errors.Is(err, connector.ErrBadRequest):
		return status.Error(codes.InvalidArgument, msg)
	case errors.Is(err, connector.ErrNotFound):
		return status.Error(codes.NotFound, msg)
	case errors.Is(err, connector.ErrRateLimited), errors.Is(err, connector.ErrServer), errors.Is(err, connector.ErrTransport):
		return status.Error(codes.Unavailable, msg)
	}
	return status.Error(codes.Unknown, msg)
}

func fieldErrorsPB(fs []FieldError) *pb.ValidateResponse {
	out := &pb.ValidateResponse{}
	for _, f := range fs {
		out.Errors = append(out.Errors, &pb.FieldError{Field: f.Field, Problem: f.Problem})
	}
	return out
}

func fieldErrorsOf(r *pb.ValidateResponse) []FieldError {
	var fs []FieldError
	for _, f := range r.GetErrors() {
		fs = append(fs, FieldError{Field: f.GetField(), Problem: f.GetProblem()})
	}
	return fs
}

// remoteError is an error the plugin sent: its message, its gRPC status
// (status.Code works on it) and what it stands for (context.Canceled,
// ErrExited, ...) for errors.Is.
type remoteError struct {
	st    *status.Status
	cause error
}

func (e *remoteError) Error() string              { return e.st.Message() }
func (e *remoteError) GRPCStatus() *status.Status { return e.st }
func (e *remoteError) Unwrap() error              { return e.cause }

// fromStatus turns an error from a call into the error a host sees.
// exited reports whether the plugin process has ended.
func fromStatus(ctx context.Context, err error, exited func() bool) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.InvalidArgument:
		for _, d := range st.Details() {
			if v, ok := d.(*pb.ValidateResponse); ok && len(v.GetErrors()) > 0 {
				return &ConfigError{Fields: fieldErrorsOf(v)}
			}
		}
	case codes.Canceled, codes.DeadlineExceeded:
		if ctx.Err() != nil {
			return &remoteError{st: st, cause: ctx.Err()}
		}
		if st.Code() == codes.Canceled {
			return &remoteError{st: st, cause: context.Canceled}
		}
		return &remoteError{st: st, cause: context.DeadlineExceeded}
	case codes.Unavailable, codes.Internal, codes.Unknown:
		if exited != nil && exited() {
			return &remoteError{st: status.New(st.Code(), ErrExited.Error()+" ("+st.Message()+")"), cause: ErrExited}
		}
	}
	return &remoteError{st: st}
}
