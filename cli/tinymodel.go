package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/alecthomas/kong"

	"ltecli/lte/tasks"
)

// TinyModelCmd rebuilds the embedded default from scratch with a fixed seed: the synthetic
// task's splits and SFT data, a byte-level BPE tokenizer trained on them, a random Qwen3, its
// warm-up by SFT, and the archive that `ltecli run` embeds.
type TinyModelCmd struct {
	Out       string  `name:"out" default:"testdata/tiny.tar.zst" type:"path" help:"Archive to write."`
	Work      string  `name:"work" type:"path" help:"Working folder (default: a temporary one, removed afterwards)."`
	Seed      uint64  `name:"seed" default:"1" help:"Seed of the task, the tokenizer corpus, the initial weights and the SFT order."`
	Epochs    int     `name:"epochs" default:"4" help:"SFT passes over the data."`
	BatchSize int     `name:"batch-size" default:"64" help:"SFT sequences per step."`
	LR        float64 `name:"lr" default:"3e-3" help:"SFT peak learning rate (cosine to a tenth, 50 warm-up steps)."`
}

// embeddedFiles are the files of the archive: the model folder and the problem splits.
var embeddedFiles = []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", embeddedTrain, embeddedVal}

// Run builds and packs the model.
func (c *TinyModelCmd) Run(g *Globals) error {
	work := c.Work
	if work == "" {
		dir, err := os.MkdirTemp("", "ltecli-tiny-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	assets := filepath.Join(work, "assets")
	if err := tasks.BuildTinyAssets(assets, tasks.DefaultAssetSpec(c.Seed)); err != nil {
		return err
	}
	sftDir := filepath.Join(work, "sft")
	// The warm-up is `ltecli sft` with these flags, every other setting its default; one batch
	// per step (--micro-tokens 0), as the embedded archive was built.
	sft, err := parseSFT("--model", assets, "--data", filepath.Join(assets, tasks.SFTFile), "--out", sftDir,
		"--epochs", strconv.Itoa(c.Epochs), "--batch-size", strconv.Itoa(c.BatchSize), "--lr", strconv.FormatFloat(c.LR, 'g', -1, 64),
		"--warmup", "50", "--seed", strconv.FormatUint(c.Seed, 10), "--micro-tokens", "0")
	if err != nil {
		return err
	}
	if err := sft.Run(g); err != nil {
		return err
	}
	final := filepath.Join(sftDir, "model")
	for _, name := range []string{embeddedTrain, embeddedVal} {
		if err := copyInto(filepath.Join(final, name), filepath.Join(assets, name)); err != nil {
			return err
		}
	}
	if err := packArchive(c.Out, final, embeddedFiles); err != nil {
		return err
	}
	st, _ := os.Stat(c.Out)
	fmt.Fprintf(os.Stderr, "tiny model: wrote %s (%.1f MB)\n", c.Out, float64(st.Size())/1e6)
	return nil
}

// parseSFT builds the sft command from its flags, as the command line would, so that its
// defaults come from its flag declarations.
func parseSFT(args ...string) (*SFTCmd, error) {
	var cmd SFTCmd
	parser, err := kong.New(&cmd, kong.Name("sft"))
	if err != nil {
		return nil, err
	}
	if _, err := parser.Parse(args); err != nil {
		return nil, fmt.Errorf("sft flags %q: %w", args, err)
	}
	return &cmd, nil
}

func copyInto(dst, src string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
