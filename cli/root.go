// Package cli holds the ltecli commands, one file per command, wired with kong.
package cli

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/alecthomas/kong"
)

// Version is the ltecli version, set at build time with -ldflags "-X ltecli/cli.Version=...".
var Version = "0.1.0-dev"

// Globals are flags every command accepts.
type Globals struct {
	Config   kong.ConfigFlag `name:"config" type:"existingfile" help:"JSON file of flag values: keys are flag names with _ for - (\"group_size\": 8); flags on the command line win."`
	ORTLib   string          `name:"ort-lib" env:"ORT_LIB" help:"Path to libonnxruntime.so (default: the project's cache from make setup)."`
	Provider string          `name:"provider" env:"LTECLI_PROVIDER" default:"cpu" enum:"cpu,cuda" help:"ONNX Runtime execution provider (cpu or cuda)."`
	Threads  int             `name:"threads" env:"LTECLI_THREADS" default:"0" help:"Intra-op threads for ONNX Runtime (0: all cores)."`
	Compute  string          `name:"compute" env:"LTECLI_COMPUTE" default:"fp32" enum:"fp32,bf16" help:"Type of the model's matrix products: fp32, or bf16 (float32 master weights, norms and softmax; on the CPU, bf16 is emulated: its numerics, not its speed)."`
}

// CLI is the root of the command tree.
type CLI struct {
	Globals

	Version   VersionCmd   `cmd:"" help:"Print the ltecli version and the ONNX Runtime version it loads."`
	Devices   DevicesCmd   `cmd:"" help:"List ONNX Runtime's execution-provider devices (with --provider cuda: register the CUDA plugin first)."`
	Inspect   InspectCmd   `cmd:"" help:"Summarise a Hugging Face checkpoint folder."`
	Tokenize  TokenizeCmd  `cmd:"" help:"Convert JSON lines of text to token ids, or ids to text with --decode."`
	Verify    VerifyCmd    `cmd:"" help:"Check JSON lines of model responses against gold answers; one verdict line per input."`
	Generate  GenerateCmd  `cmd:"" help:"Sample continuations of a prompt with the KV-cached model."`
	Export    ExportCmd    `cmd:"" help:"Write the model's graphs as .onnx files."`
	Grad      GradCmd      `cmd:"" help:"One loss evaluation and its gradient for a batch file (reference dump)."`
	Step      StepCmd      `cmd:"" help:"AdamW steps on one batch file; writes the updated checkpoint."`
	Run       RunCmd       `cmd:"" help:"Train with LTE, GRPO or GRPO-Extra (default: LTE on the embedded tiny model and task)."`
	Serve     ServeCmd     `cmd:"" help:"Serve a model over SGLang's /generate and the OpenAI-compatible /v1/completions (for --backend sglang|openai)."`
	Eval      EvalCmd      `cmd:"" help:"Pass@1 and Pass@k on the evaluation benchmarks, or --rescore stored samples."`
	Table     TableCmd     `cmd:"" help:"The paper's results table (Markdown or CSV) from evaluated runs."`
	Plot      PlotCmd      `cmd:"" help:"PNG charts of training metrics (pass groups, reward, entropy, length, validation) over steps."`
	SFT       SFTCmd       `cmd:"" name:"sft" help:"Supervised fine-tuning on prompt/response pairs (cross-entropy on responses)."`
	TinyModel TinyModelCmd `cmd:"" name:"tiny-model" help:"Rebuild the embedded default model (task, tokenizer, SFT) from scratch."`
}

// newParser builds the command-line parser of root: flags, then a --config file, then a run
// --preset fill each flag, the first that sets it winning.
func newParser(root *CLI) (*kong.Kong, error) {
	parser, err := kong.New(root,
		kong.Name("ltecli"),
		kong.Description("Learning to reason from Trial and Error (LTE) on GRPO, with ONNX Runtime."),
		kong.UsageOnError(),
		kong.Vars(runDefaults()),
		kong.Resolvers(presetResolver),
		kong.Configuration(loadConfigFile),
		kong.Bind(&root.Globals),
	)
	if err != nil {
		return nil, err
	}
	if err := checkPresetFlags(parser.Model); err != nil {
		return nil, err
	}
	return parser, nil
}

// Main parses args, runs the chosen command and returns the process exit code: 0, 1 for a
// failed command, 2 for a usage error. Errors are printed as one line on stderr; a panic is
// turned into such an error, never a stack trace.
func Main(args []string) (code int) {
	err := guard(func() error {
		var root CLI
		parser, err := newParser(&root)
		if err != nil {
			return err
		}
		ctx, err := parser.Parse(args)
		if err != nil {
			var perr *kong.ParseError
			if errors.As(err, &perr) {
				return usageError{err}
			}
			return err
		}
		return ctx.Run()
	})
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "ltecli:", err)
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// usageError marks an error in the command line: exit status 2.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// threads resolves the thread count flag: 0 means all cores.
func (g *Globals) threads() int {
	if g.Threads > 0 {
		return g.Threads
	}
	return runtime.NumCPU()
}
