package lte

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"ltecli/model/backend"
	"ltecli/model/qwen3"
	"ltecli/model/tokenizer"
	"ltecli/optim"
	"ltecli/weights"
)

// Metrics is one step's line of metrics.jsonl.
type Metrics map[string]any

// Hook runs after every Every-th completed step (and, when AtEnd, after the last step; when
// OnStop, after the step an interrupted run stops at). Hooks run in the order they were
// added: checkpoints, validation and logging hang here instead of in the loop.
type Hook struct {
	Name   string
	Every  int
	AtEnd  bool
	OnStop bool
	Fn     func(step int, m Metrics) error
}

// Trainer runs GRPO, GRPO-Extra or LTE on a model.
type Trainer struct {
	Config  Config
	Model   *qwen3.Model
	Tok     *tokenizer.Tokenizer
	Prompt  *tokenizer.Template
	Train   []Problem
	Checker Checker
	Hints   *HintEngine
	Buffer  *ReplayBuffer
	Opt     *optim.AdamW
	StopIDs []int
	Hooks   []Hook
	// Step is the number of completed steps.
	Step int
	// OnSamples, when set, receives each step's rollouts (the sample log).
	OnSamples func(step int, rollouts []*Rollout, problems []Problem) error
	// Generator samples the rollouts; nil means the local engine on Model. A remote one must
	// be given the weights of each step (a Hook) to stay on-policy.
	Generator backend.Generator

	ref            *qwen3.Model
	grads, scratch *weights.Store
	schedule       optim.ScheduleConfig
}

// NewTrainer checks the configuration and prepares the optimizer, the hint engine and the
// replay buffer. The caller fills Hooks and may restore state (Step, Opt, Buffer) afterwards.
func NewTrainer(cfg Config, model *qwen3.Model, tok *tokenizer.Tokenizer, prompt *tokenizer.Template, stopIDs []int, train []Problem, checker Checker) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(train) == 0 {
		return nil, fmt.Errorf("no training problems")
	}
	sched, err := cfg.schedule()
	if err != nil {
		return nil, err
	}
	hints, err := NewHintEngine(cfg.HintTemplate, cfg.ConciseHintTemplate, cfg.ConciseTemplate, cfg.HintMaxAnswers)
	if err != nil {
		return nil, err
	}
	mode, _ := ParseBufferMode(cfg.BufferMode)
	ocfg := optim.DefaultAdamW()
	ocfg.LR, ocfg.WeightDecay = cfg.LR, cfg.WeightDecay
	opt := optim.NewAdamW(model.Params, ocfg)
	opt.Schedule = sched // recorded with the optimizer state; TrainStep steps it per training step
	t := &Trainer{
		Config: cfg, Model: model, Tok: tok, Prompt: prompt, Train: train, Checker: checker,
		Hints: hints, Buffer: NewReplayBuffer(mode, cfg.BufferMax, checker.Equal), Opt: opt, StopIDs: stopIDs,
		grads: model.Params.ZerosLike(), schedule: sched,
	}
	if cfg.Loss.KLCoef != 0 {
		t.ref = model.WithParams(model.Params.Clone())
	}
	return t, nil
}

// SetReference replaces the frozen reference policy's parameters (on resume).
func (t *Trainer) SetReference(params *weights.Store) {
	if t.ref != nil {
		t.ref = t.Model.WithParams(params)
	}
}

// Reference returns the reference policy's parameters, or nil without a KL term.
func (t *Trainer) Reference() *weights.Store {
	if t.ref == nil {
		return nil
	}
	return t.ref.Params
}

// Batch returns the problems of step s (0-based): epochs walk the data in a seeded order.
func (t *Trainer) Batch(s int) []Problem {
	n := len(t.Train)
	out := make([]Problem, t.Config.BatchProblems)
	var order []int
	orderEpoch := -1
	for j := range out {
		i := s*t.Config.BatchProblems + j
		if e := i / n; e != orderEpoch {
			order, orderEpoch = EpochOrder(n, t.Config.Seed, e), e
		}
		out[j] = t.Train[order[i%n]]
	}
	return out
}

// Run trains until Config.Steps steps are complete or ctx is cancelled; a cancelled run
// finishes its current step, runs the OnStop hooks (not the AtEnd ones: an interrupted run
// must write what an uninterrupted one writes at that step, plus its checkpoint) and
// returns ctx's error.
func (t *Trainer) Run(ctx context.Context) error {
	for t.Step < t.Config.Steps {
		m, err := t.TrainStep()
		if err != nil {
			return fmt.Errorf("step %d: %w", t.Step+1, err)
		}
		t.Step++
		last, stopping := t.Step == t.Config.Steps, ctx.Err() != nil
		for _, h := range t.Hooks {
			if (h.Every > 0 && t.Step%h.Every == 0) || (last && h.AtEnd) || (stopping && h.OnStop) {
				if err := h.Fn(t.Step, m); err != nil {
					return fmt.Errorf("step %d: %s: %w", t.Step, h.Name, err)
				}
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// render builds a problem's prompt with userText as its user text (see PromptText) and
// tokenizes it.
func (t *Trainer) render(p Problem, userText string) (string, []int, error) {
	text, err := PromptText(t.Prompt, p, userText)
	if err != nil {
		return "", nil, fmt.Errorf("problem %s: %w", p.ID, err)
	}
	return text, t.Tok.Encode(text), nil
}

// sample generates n responses for each prompt and verifies them.
func (t *Trainer) sample(texts []string, prompts [][]int, groups []int, n int, seed uint64, problems []Problem) ([]*Rollout, error) {
	gen := t.Generator
	if gen == nil {
		gen = &backend.Local{Model: t.Model, Vocab: t.Model.Config.VocabSize, MaxBatch: t.Config.GenBatch}
	}
	samples, err := gen.Generate(context.Background(), prompts, backend.Params{
		N: n, MaxNewTokens: t.Config.MaxTokens, Temperature: t.Config.Temperature, TopP: t.Config.TopP,
		Seed: seed, StopIDs: t.StopIDs,
	})
	if err != nil {
		return nil, fmt.Errorf("sampling rollouts: %w", err)
	}
	out := make([]*Rollout, len(samples))
	for i, s := range samples {
		out[i] = &Rollout{Group: groups[s.Prompt], Prompt: texts[s.Prompt], Sample: s, Response: t.Tok.Decode(s.IDs), Template: TemplatePlain}
	}
	t.Checker.verifyAll(out, func(g int) string { return problems[g].Answer })
	return out, nil
}

// stepSeed derives the seed of one random stream of a step.
func (t *Trainer) stepSeed(step int, stream uint64) uint64 {
	return t.Config.Seed*0x9e3779b97f4a7c15 ^ uint64(step)<<16 ^ stream
}

// TrainStep runs one step: rollouts, hints (LTE) or extra samples (GRPO-Extra) for none-pass
// problems, advantages, scoring, updates. It returns the step's metrics.
func (t *Trainer) TrainStep() (Metrics, error) {
	cfg := t.Config
	step := t.Step + 1
	problems := t.Batch(t.Step)
	m := Metrics{"step": step}
	start := time.Now()

	// 1. Plain rollouts.
	texts := make([]string, len(problems))
	prompts := make([][]int, len(problems))
	groupsIdx := make([]int, len(problems))
	for i, p := range problems {
		var err error
		if texts[i], prompts[i], err = t.render(p, p.Question); err != nil {
			return nil, err
		}
		groupsIdx[i] = i
	}
	rollouts, err := t.sample(texts, prompts, groupsIdx, cfg.GroupSize, t.stepSeed(step, 1), problems)
	if err != nil {
		return nil, err
	}
	groups := make([][]*Rollout, len(problems))
	for _, r := range rollouts {
		groups[r.Group] = append(groups[r.Group], r)
	}
	var before GroupStats
	for g, grp := range groups {
		_, st := Classify(rewards(grp))
		before.Add(st)
		var wrong []string
		for _, r := range grp {
			if !r.Correct && r.Answer != "" {
				wrong = append(wrong, r.Answer)
			}
		}
		t.Buffer.Record(problems[g].ID, step, wrong)
	}
	m["none_pass"], m["some_pass"], m["all_pass"] = before.NonePass, before.SomePass, before.AllPass

	// 2. None-pass problems: hinted samples (LTE) or extra plain samples (GRPO-Extra).
	all := rollouts
	templateCounts := map[string]int{TemplateHint: 0, TemplateConciseHint: 0, TemplateConcise: 0}
	var hintedCorrect, rescued, hintedGroups int
	if cfg.Algo != AlgoGRPO && before.NonePass > 0 {
		var hTexts []string
		var hPrompts [][]int
		var hGroups []int
		var hTemplates []string
		var hAnswers [][]string
		for g, grp := range groups {
			if passed, _ := Classify(rewards(grp)); passed > 0 {
				continue
			}
			text, ids := texts[g], prompts[g]
			name, listed := TemplatePlain, []string(nil)
			if cfg.Algo == AlgoLTE {
				truncated := 0
				for _, r := range grp {
					if r.Truncated() {
						truncated++
					}
				}
				name, listed = t.Hints.Choose(t.Buffer.Mistakes(problems[g].ID, step, 0), truncated, len(grp))
				question, err := t.Hints.Render(name, problems[g].Question, listed)
				if err != nil {
					return nil, err
				}
				if text, ids, err = t.render(problems[g], question); err != nil {
					return nil, err
				}
				templateCounts[name]++
			}
			hTexts, hPrompts, hGroups = append(hTexts, text), append(hPrompts, ids), append(hGroups, g)
			hTemplates, hAnswers = append(hTemplates, name), append(hAnswers, listed)
		}
		hintedGroups = len(hGroups)
		extra, err := t.sample(hTexts, hPrompts, hGroups, cfg.hintGroupSize(), t.stepSeed(step, 2), problems)
		if err != nil {
			return nil, err
		}
		byGroup := map[int][]*Rollout{}
		for _, r := range extra {
			r.Hinted = cfg.Algo == AlgoLTE
			r.Extra = cfg.Algo == AlgoGRPOExtra
			r.Template, r.HintAnswers = hTemplates[r.Sample.Prompt], hAnswers[r.Sample.Prompt]
			byGroup[r.Group] = append(byGroup[r.Group], r)
			if r.Correct {
				hintedCorrect++
			}
		}
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(step)))
		for _, g := range hGroups {
			var used int
			groups[g], used = Mix(groups[g], byGroup[g], rng)
			if used > 0 {
				rescued++
			}
		}
		all = append(all, extra...)
	}
	var after GroupStats
	zeroVar := 0
	var seqs []TrainSeq
	for g, grp := range groups {
		_, st := Classify(rewards(grp))
		after.Add(st)
		adv, zero := GroupAdvantages(rewards(grp), cfg.ScaleByStd)
		if zero {
			zeroVar++
		}
		for i, r := range grp {
			r.Advantage = adv[i]
			resp := r.ResponseIDs()
			if len(resp) == 0 {
				continue
			}
			s := TrainSeq{IDs: append(append([]int(nil), prompts[g]...), resp...), PromptLen: len(prompts[g]), Advantage: adv[i]}
			if r.Hinted {
				s.OffPolicy, s.Old = true, r.BehaviourLogp()
			}
			seqs = append(seqs, s)
		}
	}
	genTime := time.Since(start)
	if cfg.Algo != AlgoGRPO {
		m["none_pass_after"], m["some_pass_after"], m["all_pass_after"] = after.NonePass, after.SomePass, after.AllPass
		m["hinted_groups"], m["hinted_correct"], m["rescued_groups"] = hintedGroups, hintedCorrect, rescued
		for name, n := range templateCounts {
			m["template_"+name] = n
		}
		m["buffer_problems"], m["buffer_answers"] = t.Buffer.Problems(), t.Buffer.Answers()
	}
	m["zero_variance_groups"] = zeroVar

	// 3. Old and reference log-probs, then updates.
	scoreStart := time.Now()
	current, err := ScoreSequences(t.Model, seqs, cfg.Temperature, cfg.MicroTokens)
	if err != nil {
		return nil, err
	}
	for i := range seqs {
		if !seqs[i].OffPolicy {
			seqs[i].Old = current[i].Logp
		}
	}
	if t.ref != nil {
		refScores, err := ScoreSequences(t.ref, seqs, cfg.Temperature, cfg.MicroTokens)
		if err != nil {
			return nil, err
		}
		for i := range seqs {
			seqs[i].Ref = refScores[i].Logp
		}
	}
	scoreTime := time.Since(scoreStart)
	var backTime, optTime time.Duration
	var last LossResult
	var norm float64
	skipped := 0
	// The schedule advances once per training step, as verl's does, whatever the number of
	// optimizer steps (mini-batches x PPO epochs) a training step takes: warm-up and total are
	// counted in training steps.
	lr := t.schedule.LR(t.Step)
	for epoch := 0; epoch < cfg.PPOEpochs; epoch++ {
		for mb := 0; mb < cfg.MiniBatches; mb++ {
			lo, hi := mb*len(seqs)/cfg.MiniBatches, (mb+1)*len(seqs)/cfg.MiniBatches
			if lo == hi {
				continue
			}
			var cur []ScoredSeq
			if epoch == 0 && cfg.MiniBatches == 1 {
				cur = current // parameters unchanged since scoring
			}
			bs := time.Now()
			if t.scratch == nil {
				t.scratch = t.grads.ZerosLike()
			}
			res, err := Gradient(t.Model, seqs[lo:hi], cur, cfg.Loss, cfg.Temperature, cfg.MicroTokens, t.grads, t.scratch)
			if err != nil {
				return nil, err
			}
			backTime += time.Since(bs)
			optStart := time.Now()
			n, skip, err := t.Opt.StepWithClip(t.Model.Params, t.grads, lr, cfg.MaxGradNorm)
			if err != nil {
				return nil, err
			}
			optTime += time.Since(optStart)
			if skip {
				skipped++
			}
			last, norm = res, n
		}
	}

	if err := t.checkFinite(step, last.Loss, norm, skipped); err != nil {
		return nil, err
	}

	// 4. Metrics.
	var rewardSum, lenSum float64
	lenMax, truncated, tokens := 0, 0, 0
	for _, grp := range groups {
		for _, r := range grp {
			rewardSum += reward(r)
		}
	}
	for _, r := range rollouts {
		l := len(r.ResponseIDs())
		lenSum += float64(l)
		lenMax = max(lenMax, l)
		if r.Truncated() {
			truncated++
		}
	}
	for _, s := range seqs {
		tokens += len(s.IDs)
	}
	elapsed := time.Since(start)
	m["reward_mean"] = rewardSum / float64(len(problems)*cfg.GroupSize)
	m["reward_mean_before"] = meanReward(rollouts)
	m["response_len_mean"] = lenSum / float64(len(rollouts))
	m["response_len_max"] = lenMax
	m["truncated_frac"] = float64(truncated) / float64(len(rollouts))
	m["entropy"], m["kl"], m["clip_frac"], m["policy_loss"] = last.Entropy, last.KL, last.ClipFrac, last.PolicyLoss
	m["loss"] = last.Loss
	m["off_policy_tokens"] = last.OffPolicyTokens
	m["grad_norm"] = finiteOrNil(norm)
	m["lr"] = lr
	m["skipped_steps"] = skipped
	m["sequences"] = len(seqs)
	m["time_generate_s"] = genTime.Seconds()
	m["time_score_s"] = scoreTime.Seconds()
	m["time_backward_s"] = backTime.Seconds()
	m["time_optimizer_s"] = optTime.Seconds()
	m["time_step_s"] = elapsed.Seconds()
	m["tokens_per_s"] = float64(tokens) / elapsed.Seconds()
	if t.OnSamples != nil {
		if err := t.OnSamples(step, all, problems); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func reward(r *Rollout) float64 {
	if r.Correct {
		return 1
	}
	return 0
}

func rewards(grp []*Rollout) []float64 {
	out := make([]float64, len(grp))
	for i, r := range grp {
		out[i] = reward(r)
	}
	return out
}

func meanReward(rs []*Rollout) float64 {
	if len(rs) == 0 {
		return 0
	}
	var s float64
	for _, r := range rs {
		s += reward(r)
	}
	return s / float64(len(rs))
}

// finiteOrNil keeps JSON valid: a non-finite number is written as null.
func finiteOrNil(x float64) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return x
}
