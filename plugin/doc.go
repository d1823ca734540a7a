// Package plugin runs wadeep inside a host ETL tool, as a
// hashicorp/go-plugin gRPC plugin or in process, behind one Go interface,
// Connector.
//
// A host starts the plugin with Open (the plugin is the wadeep binary
// itself), writes a table of numbers with Write (the destination side: plan,
// journal, create the tasks) and reads the profiles back with Read (the
// source side: an array.RecordReader that also offers progress and a
// checkpoint). NewInProcess returns the same Connector without a process.
// docs/plugin.md describes the calls, the protocol, its limits and what
// happens when either side dies; plugin/plugintest is the conformance suite
// every implementation passes.
//
// Public types are plain Go and Arrow; gRPC and the generated protocol stay
// in plugin/internal/proto.
package plugin
