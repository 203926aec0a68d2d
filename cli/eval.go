package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"ltecli/lte"
	"ltecli/lte/eval"
	"ltecli/lte/verify"
	"ltecli/model/backend"
	"ltecli/model/generate"
	"ltecli/model/qwen3"
	"ltecli/model/tokenizer"
)

// EvalCmd measures Pass@1 and Pass@k on the evaluation benchmarks, or rescores a samples file.
type EvalCmd struct {
	Rescore string `name:"rescore" type:"existingfile" help:"Verify the samples of a JSON-lines file (plain or .zst; benchmark, id, gold, response) again instead of generating."`
	Model   string `name:"model" type:"path" help:"Hugging Face Qwen3 folder to generate with (a run's checkpoint folder too)."`

	Bench       []string `name:"bench" sep:"," default:"all" help:"Benchmarks: math500, minerva, olympiadbench, amc23, aime24, aime25, all, or NAME=PATH."`
	Data        string   `name:"data" env:"LTECLI_DATA" type:"path" help:"Folder of the benchmark files NAME.jsonl."`
	N           int      `name:"n" default:"16" help:"Samples per problem."`
	K           []int    `name:"k" sep:"," default:"1,4,16" help:"Pass@k to report; a benchmark reports only k up to its samples per problem."`
	Temperature float64  `name:"temperature" default:"0.6" help:"Sampling temperature."`
	TopP        float64  `name:"top-p" default:"0.95" help:"Nucleus mass."`
	MaxTokens   int      `name:"max-tokens" default:"8192" help:"New tokens per response at most."`
	Template    string   `name:"template" default:"qwen-boxed" help:"Prompt template: a built-in name or a template file."`
	Limit       int      `name:"limit" help:"Evaluate only the first L problems of each benchmark (0: all)."`
	Batch       int      `name:"batch" default:"4" help:"Problems per generation call; each brings n rows."`
	Seed        uint64   `name:"seed" default:"0" help:"Random seed."`
	Truncated   string   `name:"truncated" default:"wrong" enum:"wrong,verify" help:"A response cut at --max-tokens: wrong (counts wrong, as in training and in-run validation) or verify (verified like any other)."`
	Out         string   `name:"out" type:"path" help:"Output folder: results.json, samples.jsonl.zst; an interrupted evaluation resumes there."`
	JSON        bool     `name:"json" help:"Print the results as JSON instead of a table."`

	BackendFlags `embed:""`
}

// Run rescores or generates, then prints the results on stdout; notes and progress go to
// stderr.
func (c *EvalCmd) Run(g *Globals) error {
	var res eval.Results
	var err error
	switch {
	case c.Rescore != "" && c.Model != "":
		return errors.New("eval: give --rescore FILE or --model DIR, not both")
	case c.Rescore != "":
		res, err = c.rescore()
	case c.Model != "":
		res, err = c.generate(g)
	default:
		return errors.New("eval: give --model DIR to generate, or --rescore FILE to verify stored samples")
	}
	if err != nil {
		return err
	}
	for _, note := range res.LeftOut(c.K) {
		fmt.Fprintln(os.Stderr, "eval:", note)
	}
	if !c.JSON {
		return res.WriteText(os.Stdout)
	}
	raw, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(raw))
	return err
}

// verifyCheck is the project's verifier as an eval.Check.
func verifyCheck(response, gold string) (bool, string) {
	v := verify.Verify(response, gold)
	return v.Correct, v.Pred
}

// textGenerator adapts a sampling engine (the local one or an HTTP backend) to eval's
// text-in, text-out Generator with p's settings and each call's n and seed.
func textGenerator(engine backend.Generator, tok *tokenizer.Tokenizer, p backend.Params) eval.Generator {
	return func(prompts []string, n int, seed uint64) ([][]eval.Response, error) {
		ids := make([][]int, len(prompts))
		for i, text := range prompts {
			ids[i] = tok.Encode(text)
		}
		call := p
		call.N, call.Seed = n, seed
		samples, err := engine.Generate(context.Background(), ids, call)
		if err != nil {
			return nil, err
		}
		out := make([][]eval.Response, len(prompts))
		for _, s := range samples {
			out[s.Prompt] = append(out[s.Prompt], eval.Response{Text: tok.Decode(s.IDs), FinishReason: s.FinishReason})
		}
		return out, nil
	}
}

// rescore verifies the samples of c.Rescore again.
func (c *EvalCmd) rescore() (eval.Results, error) {
	samples, ignored, err := eval.ReadSamples(c.Rescore)
	if err != nil {
		return eval.Results{}, err
	}
	if ignored > 0 {
		fmt.Fprintf(os.Stderr, "eval: %s ends in an incomplete zstd frame (%d bytes): its samples are left out\n", c.Rescore, ignored)
	}
	if len(samples) == 0 {
		return eval.Results{}, fmt.Errorf("eval: %s holds no samples", c.Rescore)
	}
	identical, err := eval.CheckDuplicates(samples)
	if err != nil {
		return eval.Results{}, fmt.Errorf("eval: %s: %w", c.Rescore, err)
	}
	if identical > 0 {
		fmt.Fprintf(os.Stderr, "eval: warning: %s holds %d records identical to earlier ones (same problem and response, no sample index): if the file repeats samples, Pass@k counts them twice\n", c.Rescore, identical)
	}
	return eval.Aggregate(eval.Rescore(samples, verifyCheck, c.Truncated), c.K)
}

// generate samples responses with the model and evaluates them into c.Out.
func (c *EvalCmd) generate(g *Globals) (eval.Results, error) {
	if c.Out == "" {
		return eval.Results{}, errors.New("eval: --out DIR is required with --model")
	}
	files, err := eval.ResolveBenchmarks(c.Bench, c.Data)
	if err != nil {
		return eval.Results{}, err
	}
	benches, err := eval.LoadBenchmarks(files, c.Limit)
	if err != nil {
		return eval.Results{}, err
	}
	tmpl, err := tokenizer.FindTemplate(c.Template)
	if err != nil {
		return eval.Results{}, err
	}
	tok, err := tokenizer.Load(c.Model)
	if err != nil {
		return eval.Results{}, err
	}
	for _, b := range benches {
		if err := checkPromptLengths(c.Model, tok, tmpl, b.Problems, c.MaxTokens, "benchmark "+b.Name); err != nil {
			return eval.Results{}, err
		}
	}
	lock, err := lockDir(c.Out, "evaluation folder")
	if err != nil {
		return eval.Results{}, err
	}
	defer lock.release()
	cfg, err := qwen3.LoadConfig(c.Model)
	if err != nil {
		return eval.Results{}, err
	}
	var local backend.Generator
	if c.Backend == "" || c.Backend == "local" {
		m, err := g.loadModel(c.Model)
		if err != nil {
			return eval.Results{}, err
		}
		defer m.Close()
		local = &backend.Local{Model: m, Vocab: cfg.VocabSize}
	}
	engine, _, err := c.generator(local)
	if err != nil {
		return eval.Results{}, err
	}
	gen := textGenerator(engine, tok, backend.Params{
		MaxNewTokens: c.MaxTokens, Temperature: c.Temperature, TopP: c.TopP, StopIDs: generate.StopIDs(cfg, tok, c.Model),
	})
	runner := &eval.Runner{
		Out: c.Out,
		Settings: eval.Settings{
			Model: c.Model, Template: tmpl.Name(), N: c.N, Temperature: c.Temperature, TopP: c.TopP,
			MaxTokens: c.MaxTokens, Seed: c.Seed, Truncated: c.Truncated,
		},
		Batch:    c.Batch,
		Render:   func(p lte.Problem) (string, error) { return lte.PromptText(tmpl, p, p.Question) },
		Generate: gen,
		Check:    verifyCheck,
		Progress: os.Stderr,
	}
	fmt.Fprintf(os.Stderr, "eval: %s on %d benchmarks, %d samples per problem, into %s\n", c.Model, len(benches), c.N, c.Out)
	return runner.Run(benches, c.K)
}
