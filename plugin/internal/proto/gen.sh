#!/bin/sh
# Regenerates wadeep.pb.go and wadeep_grpc.pb.go from wadeep.proto.
# Needs protoc (Debian: protobuf-compiler), protoc-gen-go and
# protoc-gen-go-grpc on PATH:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
set -eu
cd "$(dirname "$0")"
protoc --proto_path=. \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	wadeep.proto
