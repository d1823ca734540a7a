// Package proto is the generated gRPC code of the plugin protocol
// (wadeep.proto). It stays internal: package plugin converts at the edge.
package proto

//go:generate ./gen.sh
