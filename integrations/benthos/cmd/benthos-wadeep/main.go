// Command benthos-wadeep is Benthos with the wadeep processor compiled in:
// every Benthos subcommand (run with -c, lint, list) works as usual.
package main

import (
	"context"

	"github.com/redpanda-data/benthos/v4/public/service"

	// The core inputs, outputs and processors (file, stdin, stdout, http, ...).
	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"

	_ "github.com/wadeep/wadeep/integrations/benthos"
)

func main() {
	service.RunCLI(context.Background())
}
