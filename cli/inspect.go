package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"ltecli/model/qwen3"
	"ltecli/weights"
)

// InspectCmd summarises a checkpoint folder and validates every safetensors header in it.
type InspectCmd struct {
	Model string `name:"model" required:"" type:"path" help:"Hugging Face checkpoint folder (config.json, *.safetensors)."`
}

// Run prints the config summary and tensor statistics; any defect is an error.
func (c *InspectCmd) Run() error {
	cfg, err := qwen3.LoadConfig(c.Model)
	if err != nil {
		return err
	}
	ckpt, err := weights.OpenCheckpoint(c.Model)
	if err != nil {
		return err
	}
	tensors := ckpt.Tensors()
	var params int64
	dtypes := map[weights.DType]int{}
	for _, t := range tensors {
		params += t.NumElements()
		dtypes[t.DType]++
	}
	var dts []string
	for d, n := range dtypes {
		dts = append(dts, fmt.Sprintf("%s x%d", d, n))
	}
	sort.Strings(dts)
	var files []string
	for _, f := range ckpt.Files {
		files = append(files, filepath.Base(f.Path))
	}
	w := os.Stdout
	fmt.Fprintf(w, "model       %s\n", c.Model)
	fmt.Fprintf(w, "type        %s (tie_word_embeddings=%v, torch_dtype=%s)\n", cfg.ModelType, cfg.TieWordEmbeddings, cfg.TorchDType)
	fmt.Fprintf(w, "shape       hidden %d, layers %d, heads %d, kv heads %d, head_dim %d, intermediate %d, vocab %d\n",
		cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim, cfg.IntermediateSize, cfg.VocabSize)
	fmt.Fprintf(w, "rope        theta %g, rms_norm_eps %g\n", cfg.RopeTheta, cfg.RMSNormEps)
	fmt.Fprintf(w, "files       %s\n", strings.Join(files, ", "))
	fmt.Fprintf(w, "tensors     %d\n", len(tensors))
	fmt.Fprintf(w, "parameters  %d stored (%.2fM), %d by config\n", params, float64(params)/1e6, cfg.NumParams())
	fmt.Fprintf(w, "dtypes      %s\n", strings.Join(dts, ", "))
	for _, s := range cfg.ParamSpecs() {
		if _, ok := ckpt.Info(s.Name); !ok {
			return fmt.Errorf("checkpoint %s lacks tensor %q that the config requires", c.Model, s.Name)
		}
	}
	return nil
}
