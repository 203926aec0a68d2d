package cli

import (
	"fmt"
	"io"
	"path/filepath"

	"ltecli/model/qwen3"
	"ltecli/weights"
)

// ExportCmd writes a model's graphs as .onnx files, for Netron or other tools. Parameters are
// graph inputs (named as in the checkpoint), not initializers.
type ExportCmd struct {
	Model string `name:"model" required:"" type:"path" help:"Hugging Face Qwen3 folder (only config.json is read)."`
	Out   string `name:"out" required:"" type:"path" help:"Folder for the engine's graphs: layer, layer_qkv, attention, layer_out, head, logits and their _vjp graphs, as .onnx files (as --provider and --compute would run them)."`
}

// Run builds and writes every graph.
func (c *ExportCmd) Run(g *Globals) error {
	cfg, err := qwen3.LoadConfig(c.Model)
	if err != nil {
		return err
	}
	m := qwen3.New(cfg, nil, g.modelOptions())
	for _, kind := range qwen3.EngineGraphs {
		gr, err := m.Graph(kind)
		if err != nil {
			return fmt.Errorf("%s graph: %w", kind, err)
		}
		data, err := gr.Encode()
		if err != nil {
			return fmt.Errorf("%s graph: %w", kind, err)
		}
		path := filepath.Join(c.Out, kind+".onnx")
		if err := weights.WriteAtomic(path, func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		}); err != nil {
			return err
		}
		fmt.Printf("%s  %d nodes, %.1f KB\n", path, gr.NumNodes(), float64(len(data))/1024)
	}
	return nil
}
