// Package plugintest is the conformance suite of plugin.Connector: every
// implementation (the plugin process Open starts, the in-process value, a
// host's own) runs Run against the offline sandbox of the upstream API and
// passes it.
//
//	func TestConformance(t *testing.T) {
//		plugintest.Run(t, plugintest.Target{
//			Open: func(t *testing.T) plugin.Connector { return plugin.NewInProcess() },
//		})
//	}
//
// With Target.Binary set, it also runs the process tests: the plugin
// crashing mid-stream, and the host SIGKILLed (no orphan process, no socket
// left behind).
package plugintest
