package cli

import (
	"ltecli/lte"
	"ltecli/model/graph"
	"ltecli/model/qwen3"
	"ltecli/ort"
)

// sessionConfig turns the global flags into ONNX Runtime session settings.
func (g *Globals) sessionConfig() ort.SessionConfig {
	return ort.SessionConfig{Provider: ort.Provider(g.Provider), Threads: g.threads(), OptLevel: ort.OptAll}
}

// modelOptions turns the global flags into engine options.
func (g *Globals) modelOptions() qwen3.Options {
	opts := qwen3.Options{Session: g.sessionConfig()}
	if g.Compute == "bf16" {
		opts.Compute = graph.BFloat16
	}
	return opts
}

// loadModel initialises ONNX Runtime and loads a Hugging Face Qwen3 folder.
func (g *Globals) loadModel(dir string) (*qwen3.Model, error) {
	if err := ort.Init(ort.CoreFor(ort.Provider(g.Provider), g.ORTLib)); err != nil {
		return nil, err
	}
	return qwen3.Load(dir, g.modelOptions())
}

// modelAndBatch loads a model and a batch file checked against its vocabulary.
func (g *Globals) modelAndBatch(modelDir, batchPath string) (*qwen3.Model, *lte.BatchFile, error) {
	m, err := g.loadModel(modelDir)
	if err != nil {
		return nil, nil, err
	}
	batch, err := lte.ReadBatchFile(batchPath, m.Config.VocabSize)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, batch, nil
}
