// Command ltecli trains language models to reason with LTE on top of GRPO.
package main

import (
	"os"

	"ltecli/cli"
	"ltecli/ort"
)

func main() {
	ort.UseHugePages()
	os.Exit(cli.Main(os.Args[1:]))
}
