package cli

import (
	"fmt"

	"ltecli/ort"
)

// DevicesCmd lists the devices ONNX Runtime's execution providers offer. With --provider cuda
// it first registers the CUDA plugin library, so it is the first check on a GPU machine.
type DevicesCmd struct{}

// Run opens the device of --provider and prints the library, the plugin and every EP device.
func (c *DevicesCmd) Run(g *Globals) error {
	if err := ort.Init(ort.CoreFor(ort.Provider(g.Provider), g.ORTLib)); err != nil {
		return err
	}
	fmt.Printf("onnxruntime %s (%s)\n", ort.Version(), ort.LibraryPath())
	if _, err := ort.OpenDevice(g.sessionConfig()); err != nil {
		return err
	}
	if ort.Provider(g.Provider) == ort.CUDA {
		path, err := ort.FindCUDAPlugin()
		if err != nil {
			return err
		}
		fmt.Printf("cuda plugin %s\n", path)
	}
	devs, err := ort.EPDevices()
	if err != nil {
		return err
	}
	for _, d := range devs {
		fmt.Printf("%-24s %s vendor 0x%04x device 0x%04x\n", d.EP, d.Hardware, d.VendorID, d.DeviceID)
	}
	return nil
}
