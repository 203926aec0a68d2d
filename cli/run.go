package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"ltecli/lte"
	"ltecli/lte/eval"
	"ltecli/lte/verify"
	"ltecli/model/backend"
	"ltecli/model/generate"
	"ltecli/model/tokenizer"
)

// RunCmd is the training job: GRPO, GRPO-Extra or LTE. The defaults of the flags that set
// lte.Config are lte.DefaultConfig's (runDefaults); those that depend on the model are
// resolveInputs'.
type RunCmd struct {
	Model   string `name:"model" type:"path" help:"Hugging Face Qwen3 folder (default: the embedded tiny model)."`
	Out     string `name:"out" type:"path" default:"runs" help:"Run directory (with --compare, the parent of one directory per algorithm)."`
	Resume  bool   `name:"resume" help:"Continue the run in --out from its latest checkpoint (verified by its checksums), with the settings it was started with."`
	Allow   bool   `name:"allow-changes" help:"With --resume, accept settings that differ from the run's run_config.json; the differences are recorded there under changes."`
	Compare string `name:"compare" help:"Also run these algorithms with the same seed and budget, e.g. grpo,grpo-extra, and print a comparison."`
	Preset  string `name:"preset" enum:",paper,luffy" default:"" help:"Named settings for the flags not given on the command line or in --config: paper (the LTE paper's: G 8, temperature 1, 8192 tokens, lr 1e-6 constant, 128 problems per step, no KL, clip 0.2, validation temperature 0.6, 500 steps) or luffy (paper plus LUFFY's loss: r = pi_theta, one normaliser, seq-mean-token-sum-norm, no std). Recorded in run_config.json."`
	Seeds   string `name:"seeds" help:"Run every algorithm once per seed, e.g. 1,2,3 (replacing --seed), into OUT/seed-N[/ALGO], and print each column's mean and standard deviation over the seeds."`

	Train         string `name:"train" type:"path" help:"Training problems (JSONL or Parquet; default: the embedded task's)."`
	Val           string `name:"val" type:"path" help:"Validation problems (default: the embedded task's when training on it)."`
	QuestionField string `name:"question-field" help:"Question column (default: problem, question or a verl prompt)."`
	AnswerField   string `name:"answer-field" help:"Answer column (default: answer, final_answer, reward_model.ground_truth or solution)."`

	Algo          string  `name:"algo" default:"${algo}" enum:"lte,grpo,grpo-extra" help:"lte, grpo or grpo-extra."`
	Steps         int     `name:"steps" help:"Training steps (default 100, also on the embedded model)."`
	Seed          uint64  `name:"seed" default:"${seed}" help:"Seed of every random choice of the run."`
	BatchProblems int     `name:"batch-problems" default:"${batch_problems}" help:"Problems per step (P)."`
	GroupSize     int     `name:"group-size" default:"${group_size}" help:"Samples per problem (G)."`
	HintGroupSize int     `name:"hint-group-size" default:"${hint_group_size}" help:"Samples per hinted (or extra) prompt (0: G)."`
	MaxTokens     int     `name:"max-tokens" help:"Response tokens at most (default 1024; 24 on the embedded model)."`
	Temperature   float64 `name:"temperature" default:"${temperature}" help:"Sampling temperature (the loss scores the same distribution)."`
	TopP          float64 `name:"top-p" default:"${top_p}" help:"Nucleus sampling mass."`
	Template      string  `name:"template" default:"${template}" help:"Prompt template name or file."`

	OptimizerFlags         `embed:"" set:"lr=0" set:"lr_default=1e-6; 1e-4 on the embedded model" set:"micro_tokens=8192"`
	ScheduleFlags          `embed:""` // defaults: runDefaults
	KLCoef                 float64    `name:"kl-coef" default:"${kl_coef}" help:"KL penalty coefficient (0: no reference model)."`
	KL                     string     `name:"kl" default:"${kl}" enum:"k1,k2,k3" help:"KL estimator."`
	EntropyCoef            float64    `name:"entropy-coef" default:"${entropy_coef}" help:"Entropy bonus (LTE-dagger when > 0)."`
	ClipLow                float64    `name:"clip-low" default:"${clip_low}" help:"PPO clip below 1."`
	ClipHigh               float64    `name:"clip-high" default:"${clip_high}" help:"PPO clip above 1."`
	DualClip               *float64   `name:"dual-clip" help:"Dual-clip constant c > 1 for negative advantages."`
	LossAgg                string     `name:"loss-agg" default:"${loss_agg}" enum:"token-mean,seq-mean-token-sum,seq-mean-token-mean,seq-mean-token-sum-norm" help:"Loss aggregation, as verl defines it: token-mean (all token losses / their count), seq-mean-token-sum, seq-mean-token-mean, seq-mean-token-sum-norm (the sum of all token losses / --max-tokens, Dr. GRPO)."`
	Gamma                  float64    `name:"gamma" default:"${gamma}" help:"Off-policy weight f(r) = r/(r+gamma)."`
	NoOffPolicyDenominator bool       `name:"no-off-policy-denominator" help:"Hinted samples' ratio in f(r): by default r = pi_theta(o|plain prompt) / pi_behaviour(o|hinted prompt), the behaviour log-probs recorded at sampling; this flag uses r = pi_theta, as LUFFY's code does. Which one the LTE paper used is not confirmed."`
	OffPolicyNorm          string     `name:"off-policy-norm" default:"${off_policy_norm}" enum:"separate,joint" help:"separate: on- and off-policy tokens aggregated each on their own and added (1/Z' and 1/Z, LTE's objective as written); joint: one aggregation over all tokens (LUFFY's code)."`
	NoStd                  bool       `name:"no-std" help:"Dr. GRPO advantages: r - mean, no division by the standard deviation."`
	PPOEpochs              int        `name:"ppo-epochs" default:"${ppo_epochs}" help:"Passes over each step's rollouts."`
	MiniBatches            int        `name:"mini-batches" default:"${mini_batches}" help:"Optimizer steps per pass."`

	BufferMode     string `name:"buffer-mode" default:"${buffer_mode}" help:"Mistakes a hint may list: step (the paper's), window=N or all."`
	BufferMax      int    `name:"buffer-max" default:"${buffer_max}" help:"Distinct mistakes kept per problem."`
	HintMaxAnswers int    `name:"hint-max-answers" default:"${hint_max_answers}" help:"Wrong answers listed in a hint at most."`
	HintTemplate   string `name:"hint-template" type:"path" help:"File with the Hint template (text/template over .Question, .Answers, .AnswerList)."`
	ConciseHint    string `name:"concise-hint-template" type:"path" help:"File with the ConciseHint template."`
	Concise        string `name:"concise-template" type:"path" help:"File with the Concise template."`

	CheckpointEvery int     `name:"checkpoint-every" default:"${checkpoint_every}" help:"Checkpoint every N steps (and at the end)."`
	KeepCheckpoints int     `name:"keep-checkpoints" default:"${keep_checkpoints}" help:"Checkpoints kept."`
	ValEvery        int     `name:"val-every" help:"Validate every N steps, and before and after training (default: before and after only; every 10 steps on the embedded model)."`
	ValN            int     `name:"val-n" help:"Validation samples per problem (default 4; 8 on the embedded model)."`
	ValK            string  `name:"val-k" help:"Validation Pass@k values (default 1,4; 1,8 on the embedded model)."`
	ValTemperature  float64 `name:"val-temperature" default:"0.6" help:"Validation sampling temperature."`
	ValLimit        int     `name:"val-limit" default:"0" help:"Validation problems at most (0: all)."`
	BackendFlags    `embed:""`
	RefreshEvery    int `name:"refresh-every" default:"1" help:"With --backend sglang or openai, give the engines the new weights every N steps (1: on-policy)."`

	SweepTrain bool `name:"sweep-train" help:"Before training and at each validation, sample G responses for every training problem and record the none-pass share (train_none_pass); on by default on the embedded model."`
}

// runDefaults are the kong variables of run's default:"${...}" tags: lte.DefaultConfig's
// values, so that each default of the training configuration is written once.
func runDefaults() kong.Vars {
	d := lte.DefaultConfig()
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return kong.Vars{
		"algo": d.Algo, "seed": strconv.FormatUint(d.Seed, 10), "batch_problems": strconv.Itoa(d.BatchProblems),
		"group_size": strconv.Itoa(d.GroupSize), "hint_group_size": strconv.Itoa(d.HintGroupSize),
		"temperature": num(d.Temperature), "top_p": num(d.TopP), "template": d.Template,
		"schedule": d.Schedule, "warmup": strconv.Itoa(d.Warmup), "min_lr_ratio": num(d.MinLRRatio),
		"kl_coef": num(d.Loss.KLCoef), "kl": d.Loss.KL, "entropy_coef": num(d.Loss.EntropyCf),
		"clip_low": num(d.Loss.ClipLow), "clip_high": num(d.Loss.ClipHigh), "loss_agg": d.Loss.Agg, "gamma": num(d.Loss.Gamma),
		"off_policy_norm": d.Loss.OffPolicyNorm, "ppo_epochs": strconv.Itoa(d.PPOEpochs), "mini_batches": strconv.Itoa(d.MiniBatches),
		"buffer_mode": d.BufferMode, "buffer_max": strconv.Itoa(d.BufferMax), "hint_max_answers": strconv.Itoa(d.HintMaxAnswers),
		"checkpoint_every": strconv.Itoa(d.CheckpointEvery), "keep_checkpoints": strconv.Itoa(d.KeepCheckpoints),
	}
}

// readHintTemplates puts the text of the hint template files given into cfg, so that
// run_config.json records the templates themselves: a resumed run uses the text it started
// with, whatever became of the files.
func (c *RunCmd) readHintTemplates(cfg *lte.Config) error {
	for _, f := range []struct {
		flag, path string
		dst        *string
	}{
		{"--hint-template", c.HintTemplate, &cfg.HintTemplate},
		{"--concise-hint-template", c.ConciseHint, &cfg.ConciseHintTemplate},
		{"--concise-template", c.Concise, &cfg.ConciseTemplate},
	} {
		if f.path == "" {
			continue
		}
		raw, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("%s: %w", f.flag, err)
		}
		if len(raw) == 0 {
			return fmt.Errorf("%s: %s is empty", f.flag, f.path)
		}
		if raw[0] == '@' { // lte.NewHintEngine would read "@..." as a file name
			return fmt.Errorf("%s: %s starts with @: begin the template with other text", f.flag, f.path)
		}
		*f.dst = string(raw)
	}
	return nil
}

func (c *RunCmd) config(algo string) lte.Config {
	cfg := lte.DefaultConfig()
	cfg.Algo, cfg.Steps, cfg.Seed = algo, c.Steps, c.Seed
	cfg.BatchProblems, cfg.GroupSize, cfg.HintGroupSize = c.BatchProblems, c.GroupSize, c.HintGroupSize
	cfg.MaxTokens, cfg.Temperature, cfg.TopP, cfg.Template = c.MaxTokens, c.Temperature, c.TopP, c.Template
	cfg.LR, cfg.Schedule, cfg.Warmup, cfg.MinLRRatio = c.LR, c.Schedule, c.Warmup, c.MinLRRatio
	cfg.WeightDecay, cfg.MaxGradNorm = c.WeightDecay, c.MaxGradNorm
	cfg.Loss = lte.LossConfig{ClipLow: c.ClipLow, ClipHigh: c.ClipHigh, DualClip: c.DualClip, KLCoef: c.KLCoef, KL: c.KL,
		EntropyCf: c.EntropyCoef, Agg: c.LossAgg, MaxResponseLen: c.MaxTokens, Gamma: c.Gamma, OffPolicyDenominator: !c.NoOffPolicyDenominator,
		OffPolicyNorm: c.OffPolicyNorm}
	cfg.ScaleByStd = !c.NoStd
	cfg.PPOEpochs, cfg.MiniBatches, cfg.MicroTokens = c.PPOEpochs, c.MiniBatches, c.MicroTokens
	cfg.BufferMode, cfg.BufferMax, cfg.HintMaxAnswers = c.BufferMode, c.BufferMax, c.HintMaxAnswers
	cfg.CheckpointEvery, cfg.KeepCheckpoints = c.CheckpointEvery, c.KeepCheckpoints
	return cfg
}

// runSetup is the resolved configuration written as run_config.json.
type runSetup struct {
	lte.Config
	Model          string  `json:"model"`
	Train          string  `json:"train"`
	Val            string  `json:"val,omitempty"`
	ValN           int     `json:"val_n"`
	ValK           []int   `json:"val_k"`
	ValTemperature float64 `json:"val_temperature"`
	Preset         string  `json:"preset,omitempty"`

	Backend      string   `json:"backend"`
	BackendURL   []string `json:"backend_url,omitempty"`
	RefreshEvery int      `json:"refresh_every,omitempty"`
	// Changes records the settings changed on resume (--allow-changes), oldest first.
	Changes []json.RawMessage `json:"changes,omitempty"`
}

// Run trains one algorithm, or with --compare several, one after the other.
func (c *RunCmd) Run(g *Globals) error {
	in := watchInterrupts(context.Background())
	defer in.stop()
	algos := c.algos()
	seeds := []uint64{c.Seed}
	if c.Seeds != "" {
		var err error
		if seeds, err = parseSeeds(c.Seeds); err != nil {
			return err
		}
	}
	runs := make([][]runSummary, len(algos)) // per algorithm, per seed
	for _, seed := range seeds {
		c.Seed = seed
		for a, algo := range algos {
			dir := c.Out
			if len(seeds) > 1 {
				dir = filepath.Join(dir, fmt.Sprintf("seed-%d", seed))
			}
			if len(algos) > 1 {
				dir = filepath.Join(dir, algo)
			}
			s, err := c.train(in, g, algo, dir)
			if err != nil {
				if len(seeds) > 1 {
					return fmt.Errorf("%s, seed %d: %w", algo, seed, err)
				}
				return fmt.Errorf("%s: %w", algo, err)
			}
			runs[a] = append(runs[a], s)
		}
	}
	switch {
	case len(seeds) > 1:
		printSeedComparison(os.Stdout, algos, seeds, runs)
	case len(algos) > 1:
		var summaries []runSummary
		for _, r := range runs {
			summaries = append(summaries, r[0])
		}
		printComparison(os.Stdout, summaries)
	}
	return nil
}

// parseSeeds reads a comma-separated list of distinct seeds.
func parseSeeds(spec string) ([]uint64, error) {
	var seeds []uint64
	for _, f := range strings.Split(spec, ",") {
		s, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--seeds %q: %q is not a non-negative integer", spec, f)
		}
		if slices.Contains(seeds, s) {
			return nil, fmt.Errorf("--seeds %q: seed %d is given twice", spec, s)
		}
		seeds = append(seeds, s)
	}
	return seeds, nil
}

func (c *RunCmd) train(in *interrupts, g *Globals, algo, dir string) (runSummary, error) {
	lock, err := lockRunDir(dir)
	if err != nil {
		return runSummary{}, err
	}
	defer lock.release()
	modelDir, trainPath, valPath, err := c.resolveInputs()
	if err != nil {
		return runSummary{}, err
	}
	ks, err := parseKs(c.ValK)
	if err != nil {
		return runSummary{}, err
	}
	cfg := c.config(algo)
	if err := c.readHintTemplates(&cfg); err != nil {
		return runSummary{}, err
	}
	setup := runSetup{Config: cfg, Model: modelDir, Train: trainPath, Val: valPath, ValN: c.ValN, ValK: ks, ValTemperature: c.ValTemperature, Preset: c.Preset,
		Backend: c.Backend, BackendURL: c.BackendURL}
	if c.Backend != "local" {
		setup.RefreshEvery = c.RefreshEvery
		if c.RefreshEvery < 1 {
			return runSummary{}, fmt.Errorf("--refresh-every must be at least 1, got %d", c.RefreshEvery)
		}
	}
	if err := cfg.Validate(); err != nil {
		return runSummary{}, err
	}
	plan, err := planRun(dir, setup, c.Resume, c.Allow)
	if err != nil {
		return runSummary{}, err
	}
	setup = plan.setup
	fields := lte.Fields{Question: c.QuestionField, Answer: c.AnswerField}
	train, err := lte.LoadProblems(trainPath, fields)
	if err != nil {
		return runSummary{}, err
	}
	var val []lte.Problem
	if valPath != "" {
		if val, err = lte.LoadProblems(valPath, fields); err != nil {
			return runSummary{}, err
		}
		if c.ValLimit > 0 && len(val) > c.ValLimit {
			val = val[:c.ValLimit]
		}
	}
	tok, err := tokenizer.Load(modelDir)
	if err != nil {
		return runSummary{}, err
	}
	tmpl, err := tokenizer.FindTemplate(cfg.Template)
	if err != nil {
		return runSummary{}, err
	}
	if err := checkPromptLengths(modelDir, tok, tmpl, train, cfg.MaxTokens, "training problems"); err != nil {
		return runSummary{}, err
	}
	if err := checkPromptLengths(modelDir, tok, tmpl, val, c.MaxTokens, "validation problems"); err != nil {
		return runSummary{}, err
	}
	m, err := g.loadModel(modelDir)
	if err != nil {
		return runSummary{}, err
	}
	defer m.Close()
	checker := lte.Checker{
		Check: func(response, gold string) (bool, string) {
			v := verify.Verify(response, gold)
			return v.Correct, v.Pred
		},
		Equal: verify.Equivalent,
	}
	stopIDs := generate.StopIDs(m.Config, tok, modelDir)
	t, err := lte.NewTrainer(cfg, m, tok, tmpl, stopIDs, train, checker)
	if err != nil {
		return runSummary{}, err
	}
	gen, engine, err := c.generator(&backend.Local{Model: m, Vocab: m.Config.VocabSize, MaxBatch: cfg.GenBatch})
	if err != nil {
		return runSummary{}, err
	}
	t.Generator = gen
	// Validation and the training sweep sample many prompts: locally, 64 per prefill call.
	sweepGen := gen
	if engine == nil {
		sweepGen = &backend.Local{Model: m, Vocab: m.Config.VocabSize, MaxBatch: 64}
	}
	var rd *lte.RunDir
	if plan.resume {
		var ckpt string
		var st lte.RunState
		if rd, ckpt, st, err = lte.ResumeRunDir(dir); err != nil {
			return runSummary{}, err
		}
		if err := t.Restore(ckpt, st); err != nil {
			rd.Close()
			return runSummary{}, err
		}
		if len(st.Files) == 0 {
			fmt.Fprintf(os.Stderr, "note: %s records no checksums (an older ltecli wrote it): its files are not verified\n", ckpt)
		}
		if plan.rewrite {
			if err := writeRunConfig(dir, setup); err != nil {
				rd.Close()
				return runSummary{}, err
			}
		}
		fmt.Fprintf(os.Stderr, "resuming %s at step %d from %s\n", dir, t.Step, ckpt)
	} else {
		if plan.restart {
			if err := lte.ClearUncheckpointedRun(dir); err != nil {
				return runSummary{}, err
			}
		}
		if rd, err = lte.CreateRunDir(dir, setup); err != nil {
			return runSummary{}, err
		}
	}
	defer rd.Close()
	in.where = func() string {
		last := "none yet"
		if ckpt, err := lte.LatestCheckpoint(dir); err == nil {
			last = filepath.Base(ckpt)
		}
		return fmt.Sprintf(" after step %d; the last checkpoint is %s: continue with --resume --out %s", t.Step, last, dir)
	}
	var hooks []lte.Hook
	if engine != nil {
		// The engines start from the run's weights (the model, or the checkpoint resumed from)
		// and get each step's before anything samples from them again.
		start := modelDir
		if plan.resume {
			if start, err = lte.LatestCheckpoint(dir); err != nil {
				return runSummary{}, err
			}
		}
		if err := loadEngine(engine, start, t.Step); err != nil {
			return runSummary{}, err
		}
		hooks = append(hooks, lte.Hook{Name: "engine weights", Every: c.RefreshEvery, Fn: func(step int, _ *lte.Metrics) error {
			folder, err := engineWeights(dir, modelDir, step, m)
			if err != nil {
				return err
			}
			return loadEngine(engine, folder, step)
		}})
	}
	fmt.Fprintf(os.Stderr, "run %s: %s on %s (%d training problems), model %s\n", dir, algo, trainPath, len(train), modelDir)
	printConfig(os.Stderr, setup)

	sum := runSummary{Name: algo, Dir: dir}
	// Validation Pass@k and, with --sweep-train, the none-pass share of the training problems
	// (G samples each at the training temperature) go into the step's metrics line. Both go
	// through eval.Sampler, the path of `ltecli eval`: see sampleSet.
	genParams := backend.Params{MaxNewTokens: c.MaxTokens, TopP: 1, StopIDs: stopIDs}
	validate := func(step int, metrics *lte.Metrics) error {
		if len(val) > 0 {
			p := genParams
			p.Temperature = c.ValTemperature
			res, err := sampleSet(sweepGen, tok, tmpl, p, c.Seed, ValSet, val, c.ValN, ks)
			if err != nil {
				return fmt.Errorf("validation: %w", err)
			}
			metrics.Validation = map[int]float64{}
			for k, v := range res.Benchmarks[ValSet].Pass {
				if k == 1 || slices.Contains(ks, k) {
					metrics.Validation[k] = v
				}
			}
		}
		if c.SweepTrain {
			p := genParams
			p.Temperature = cfg.Temperature
			res, err := sampleSet(sweepGen, tok, tmpl, p, c.Seed, "train", train, cfg.GroupSize, nil)
			if err != nil {
				return fmt.Errorf("training-set sweep: %w", err)
			}
			metrics.TrainNonePass = &res.nonePass
		}
		return nil
	}
	progress := newProgress(os.Stderr, algo, cfg.Steps, t.Step)
	t.OnSamples = func(step int, rollouts []*lte.Rollout, problems []lte.Problem) error {
		return in.write(func() error { return rd.WriteSamples(step, rollouts, problems) })
	}
	validates := len(val) > 0 || c.SweepTrain // and writes a line of step 0 before training
	t.Hooks = append(hooks, []lte.Hook{
		{Name: "validation", AtStart: validates, Every: c.ValEvery, AtEnd: true, Fn: validate},
		{Name: "progress", Every: 1, Fn: func(step int, m *lte.Metrics) error {
			progress.update(step, m)
			return nil
		}},
		{Name: "metrics", AtStart: validates, Every: 1, Fn: func(step int, m *lte.Metrics) error {
			return in.write(func() error { return rd.WriteMetrics(m) })
		}},
		{Name: "checkpoint", Every: cfg.CheckpointEvery, AtEnd: true, OnStop: true, Fn: func(step int, _ *lte.Metrics) error {
			return in.write(func() error {
				_, err := rd.SaveCheckpoint(step, m.Params, t.Opt, t.Buffer, modelDir, cfg.KeepCheckpoints)
				return err
			})
		}},
	}...)
	start := time.Now()
	err = t.Run(in.ctx)
	progress.done()
	if errors.Is(err, context.Canceled) {
		return runSummary{}, fmt.Errorf("interrupted after step %d; checkpoint written, continue with --resume --out %s", t.Step, dir)
	}
	if err != nil {
		return runSummary{}, explainRunError(err, dir)
	}
	sum.Wall = time.Since(start)
	return sum, nil
}

func parseKs(spec string) ([]int, error) {
	var ks []int
	for _, f := range strings.Split(spec, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 1 {
			return nil, fmt.Errorf("pass@k list %q: %q is not a positive integer", spec, f)
		}
		ks = append(ks, k)
	}
	return ks, nil
}

// ValSet is the set name of in-run validation: with the run's --seed, `ltecli eval --bench
// val=VALFILE --batch 8 --truncated wrong` and the validation settings (n, temperature,
// --top-p 1, max tokens, template) draw the same samples from the same checkpoint.
const ValSet = "val"

// valBatch is the number of problems per generation call of in-run validation.
const valBatch = 8

// setResult is the Pass@k of a sampled problem set and its share of problems with no correct
// sample.
type setResult struct {
	eval.Results
	nonePass float64
}

// sampleSet samples n responses per problem of a set with eval.Sampler, the one path from
// prompts to Pass@k that `ltecli eval` takes: the problem's prompt (PromptText), the seed,
// calls of valBatch problems, the project's verifier, truncated responses wrong.
func sampleSet(engine backend.Generator, tok *tokenizer.Tokenizer, tmpl *tokenizer.Template, p backend.Params, seed uint64,
	set string, problems []lte.Problem, n int, ks []int) (setResult, error) {
	s := eval.Sampler{
		N: n, Seed: seed, Batch: valBatch,
		Render:    func(p lte.Problem) (string, error) { return lte.PromptText(tmpl, p, p.Question) },
		Generate:  textGenerator(engine, tok, p),
		Check:     verifyCheck,
		Truncated: eval.TruncatedWrong,
	}
	samples, err := s.Sample(set, problems, nil)
	if err != nil {
		return setResult{}, err
	}
	tallies := eval.Tallies(samples)
	var kept []int
	for _, k := range ks {
		if k <= n {
			kept = append(kept, k)
		}
	}
	res, err := eval.Aggregate(tallies, kept)
	if err != nil {
		return setResult{}, err
	}
	none := 0
	for _, t := range tallies {
		if t.Correct == 0 {
			none++
		}
	}
	return setResult{Results: res, nonePass: float64(none) / float64(len(tallies))}, nil
}

// Defaults that depend on the model: a real checkpoint, or the embedded tiny one.
type runPreset struct {
	steps, maxTokens, valEvery, valN int
	lr                               float64
	valK                             string
	sweepTrain                       bool
}

var (
	checkpointPreset = runPreset{steps: 100, maxTokens: 1024, valN: 4, lr: 1e-6, valK: "1,4"}
	embeddedPreset   = runPreset{steps: 100, maxTokens: 24, valEvery: 10, valN: 8, lr: 1e-4, valK: "1,8", sweepTrain: true}
)

// resolveInputs returns the model folder and data files of the run: the embedded tiny model
// and its task unless --model is given (then --train is required), and fills the flags left
// at zero from the matching preset.
func (c *RunCmd) resolveInputs() (model, train, val string, err error) {
	preset := checkpointPreset
	model, train, val = c.Model, c.Train, c.Val
	if model == "" {
		dir, err := embeddedDir()
		if err != nil {
			return "", "", "", err
		}
		model, preset = dir, embeddedPreset
		if train == "" {
			train = filepath.Join(dir, embeddedTrain)
			if val == "" {
				val = filepath.Join(dir, embeddedVal)
			}
		}
	}
	if train == "" {
		return "", "", "", fmt.Errorf("--train is required with --model")
	}
	setIfZero(&c.Steps, preset.steps)
	setIfZero(&c.MaxTokens, preset.maxTokens)
	setIfZero(&c.ValEvery, preset.valEvery)
	setIfZero(&c.ValN, preset.valN)
	setIfZero(&c.LR, preset.lr)
	setIfZero(&c.ValK, preset.valK)
	c.SweepTrain = c.SweepTrain || preset.sweepTrain
	return model, train, val, nil
}

func setIfZero[T comparable](dst *T, v T) {
	var zero T
	if *dst == zero {
		*dst = v
	}
}
