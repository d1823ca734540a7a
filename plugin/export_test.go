package plugin

import "google.golang.org/grpc"

// WithDialOptions adds gRPC dial options (the tests' tap on the wire).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *openOptions) { o.dial = append(o.dial, opts...) }
}
