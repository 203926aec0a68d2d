package cli

import (
	"fmt"

	"ltecli/ort"
)

// VersionCmd prints the ltecli version and the ONNX Runtime version it loads.
type VersionCmd struct{}

// Run loads ONNX Runtime and prints both versions.
func (c *VersionCmd) Run(g *Globals) error {
	if err := ort.Init(ort.CoreFor(ort.Provider(g.Provider), g.ORTLib)); err != nil {
		return err
	}
	fmt.Printf("ltecli %s\nonnxruntime %s (%s)\n", Version, ort.Version(), ort.LibraryPath())
	return nil
}
