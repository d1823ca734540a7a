// Package emulator is an offline sandbox of the WhatsApp Bulk Number Checker
// Deep API, in the spirit of stripe-mock: it answers the upstream's routes the
// way its contract describes, so pipelines can be built and tested without
// paying for calls or waiting half an hour per task.
//
// A Server is an http.Handler. Serve it in-process with httptest, or on a port
// with Start (the wadeep emulate command does this):
//
//	s := emulator.New(emulator.WithSpeed(1000), emulator.WithStartDelay(0))
//	url, stop, err := s.Start("127.0.0.1:8080")
//	// point the client at url; the routes live under BasePath
//	defer stop()
//
// The sandbox follows the contract: a create (POST BasePath/tasks with
// multipart user_id and file) answers a pending task; status calls (GET
// BasePath/tasks/{id}?user_id=ID) show it pending with total 0, then
// processing with success and failure growing at the configured speed, then
// completed, then exported with a result_url that the same handler serves as
// an XLSX file. Progress is computed from a Clock when a request arrives, so a
// ManualClock drives tasks through their lifecycle without sleeping.
//
// Every profile is derived from a hash of its number (see Profile), failing
// numbers are counted in failure and absent from the file, and the counters of
// Stats tell tests what a real account would have been charged. Faults (500,
// 429, slow answers, cut downloads, expiring links, lost creates) and restarts
// (Snapshot, WithState) are injected through options, reproducibly under
// WithSeed.
package emulator
