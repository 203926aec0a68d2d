package lte

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"ltecli/model/backend"
	"ltecli/model/qwen3"
	"ltecli/model/tokenizer"
	"ltecli/optim"
	"ltecli/weights"
)

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

	ref      *qwen3.Model
	grads    *weights.Store
	schedule optim.ScheduleConfig
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

// Run trains until Config.Steps steps are complete or ctx is cancelled, running Hooks
// (see Loop).
func (t *Trainer) Run(ctx context.Context) error {
	return Loop(ctx, &t.Step, t.Config.Steps, t.Hooks, t.TrainStep)
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

// TrainStep runs one step, in the phases of the data flow: plain rollouts of the step's
// problems, a hint round for the none-pass groups (LTE: hinted prompts; GRPO-Extra: extra
// plain samples), the training sequences with their advantages, the update (scoring and
// optimizer steps), and the step's metrics. It returns the metrics.
func (t *Trainer) TrainStep() (*Metrics, error) {
	start := time.Now()
	b, err := t.rollouts(t.Step+1, t.Batch(t.Step))
	if err != nil {
		return nil, err
	}
	hints, err := t.hintRound(b)
	if err != nil {
		return nil, err
	}
	seqs, zeroVar := t.trainingSequences(b)
	if hints != nil {
		hints.NonePassAfter, hints.SomePassAfter, hints.AllPassAfter = b.after.NonePass, b.after.SomePass, b.after.AllPass
		hints.BufferProblems, hints.BufferAnswers = t.Buffer.Problems(), t.Buffer.Answers()
	}
	timing := &TimingMetrics{GenerateS: time.Since(start).Seconds()}
	update, err := t.update(b.step, seqs, timing)
	if err != nil {
		return nil, err
	}
	m := &Metrics{Step: b.step, Rollouts: t.rolloutMetrics(b, seqs, zeroVar), Hints: hints, Update: update, Timing: timing}
	elapsed := time.Since(start)
	tokens := 0
	for _, s := range seqs {
		tokens += len(s.IDs)
	}
	timing.StepS = elapsed.Seconds()
	timing.TokensPerS = float64(tokens) / elapsed.Seconds()
	if t.OnSamples != nil {
		if err := t.OnSamples(b.step, b.all, b.problems); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// stepBatch is what the phases of a step hand on: the problems, their plain prompts, the
// rollouts and the groups trained on.
type stepBatch struct {
	step     int
	problems []Problem
	texts    []string     // plain prompt text per problem
	prompts  [][]int      // plain prompt ids per problem
	plain    []*Rollout   // the plain rollouts
	all      []*Rollout   // plain, then hinted or extra rollouts: the sample log
	groups   [][]*Rollout // per problem, the group trained on
	before   GroupStats   // groups by outcome before the hint round
	after    GroupStats   // and after it
}

// rollouts samples G plain responses per problem, verifies them and records the wrong
// answers in the replay buffer.
func (t *Trainer) rollouts(step int, problems []Problem) (*stepBatch, error) {
	b := &stepBatch{step: step, problems: problems, texts: make([]string, len(problems)), prompts: make([][]int, len(problems))}
	groupsIdx := make([]int, len(problems))
	for i, p := range problems {
		var err error
		if b.texts[i], b.prompts[i], err = t.render(p, p.Question); err != nil {
			return nil, err
		}
		groupsIdx[i] = i
	}
	rollouts, err := t.sample(b.texts, b.prompts, groupsIdx, t.Config.GroupSize, t.stepSeed(step, 1), problems)
	if err != nil {
		return nil, err
	}
	b.plain, b.all = rollouts, rollouts
	b.groups = make([][]*Rollout, len(problems))
	for _, r := range rollouts {
		b.groups[r.Group] = append(b.groups[r.Group], r)
	}
	for g, grp := range b.groups {
		_, st := Classify(rewards(grp))
		b.before.Add(st)
		var wrong []string
		for _, r := range grp {
			if !r.Correct && r.Answer != "" {
				wrong = append(wrong, r.Answer)
			}
		}
		t.Buffer.Record(problems[g].ID, step, wrong)
	}
	return b, nil
}

// hintRound samples again for the none-pass groups: LTE with a hint chosen from the
// group's mistakes and truncations, GRPO-Extra with the plain prompt. The new samples replace
// failed ones of their group (Mix). It returns the hint round's metrics; nil for GRPO, which
// has no hint round.
func (t *Trainer) hintRound(b *stepBatch) (*HintMetrics, error) {
	cfg := t.Config
	if cfg.Algo == AlgoGRPO {
		return nil, nil
	}
	hm := &HintMetrics{Templates: map[string]int{TemplateHint: 0, TemplateConciseHint: 0, TemplateConcise: 0}}
	if b.before.NonePass == 0 {
		return hm, nil
	}
	var texts, templates []string
	var prompts [][]int
	var groups []int
	var answers [][]string
	for g, grp := range b.groups {
		if passed, _ := Classify(rewards(grp)); passed > 0 {
			continue
		}
		text, ids := b.texts[g], b.prompts[g]
		name, listed := TemplatePlain, []string(nil)
		if cfg.Algo == AlgoLTE {
			var err error
			if name, listed, text, ids, err = t.hintPrompt(b, g); err != nil {
				return nil, err
			}
			hm.Templates[name]++
		}
		texts, prompts, groups = append(texts, text), append(prompts, ids), append(groups, g)
		templates, answers = append(templates, name), append(answers, listed)
	}
	hm.HintedGroups = len(groups)
	extra, err := t.sample(texts, prompts, groups, cfg.hintGroupSize(), t.stepSeed(b.step, 2), b.problems)
	if err != nil {
		return nil, err
	}
	byGroup := map[int][]*Rollout{}
	for _, r := range extra {
		r.Hinted = cfg.Algo == AlgoLTE
		r.Extra = cfg.Algo == AlgoGRPOExtra
		r.Template, r.HintAnswers = templates[r.Sample.Prompt], answers[r.Sample.Prompt]
		byGroup[r.Group] = append(byGroup[r.Group], r)
		if r.Correct {
			hm.HintedCorrect++
		}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(b.step)))
	for _, g := range groups {
		var used int
		b.groups[g], used = Mix(b.groups[g], byGroup[g], rng)
		if used > 0 {
			hm.RescuedGroups++
		}
	}
	b.all = append(b.all, extra...)
	return hm, nil
}

// hintPrompt chooses the hint template of none-pass group g from its mistakes in the replay
// buffer and its truncated samples, and renders the hinted prompt.
func (t *Trainer) hintPrompt(b *stepBatch, g int) (name string, listed []string, text string, ids []int, err error) {
	grp, p := b.groups[g], b.problems[g]
	truncated := 0
	for _, r := range grp {
		if r.Truncated() {
			truncated++
		}
	}
	name, listed = t.Hints.Choose(t.Buffer.Mistakes(p.ID, b.step, 0), truncated, len(grp))
	question, err := t.Hints.Render(name, p.Question, listed)
	if err != nil {
		return "", nil, "", nil, err
	}
	text, ids, err = t.render(p, question)
	return name, listed, text, ids, err
}

// trainingSequences computes each group's advantages and returns the sequences to train on
// (plain prompt and response; hinted responses are off-policy, with their behaviour
// log-probs) and the number of groups whose rewards are all equal.
func (t *Trainer) trainingSequences(b *stepBatch) (seqs []TrainSeq, zeroVar int) {
	for g, grp := range b.groups {
		_, st := Classify(rewards(grp))
		b.after.Add(st)
		adv, zero := GroupAdvantages(rewards(grp), t.Config.ScaleByStd)
		if zero {
			zeroVar++
		}
		for i, r := range grp {
			r.Advantage = adv[i]
			resp := r.ResponseIDs()
			if len(resp) == 0 {
				continue
			}
			s := TrainSeq{IDs: append(append([]int(nil), b.prompts[g]...), resp...), PromptLen: len(b.prompts[g]), Advantage: adv[i]}
			if r.Hinted {
				s.OffPolicy, s.Old = true, r.BehaviourLogp()
			}
			seqs = append(seqs, s)
		}
	}
	return seqs, zeroVar
}

// update scores the sequences (old log-probs of on-policy ones, reference log-probs with a KL
// term), then takes the optimizer steps: PPO epochs x mini-batches. It fills timing's score,
// backward and optimizer times and refuses a step whose loss, gradient or parameters are not
// finite.
func (t *Trainer) update(step int, seqs []TrainSeq, timing *TimingMetrics) (*UpdateMetrics, error) {
	cfg := t.Config
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
	timing.ScoreS = time.Since(scoreStart).Seconds()
	var backTime, optTime time.Duration
	var last LossResult
	var norm float64
	skipped := 0
	// The schedule advances once per training step, as verl's does, whatever the number of
	// optimizer steps (mini-batches x PPO epochs) a training step takes: warm-up and total are
	// counted in training steps.
	lr := t.schedule.LR(step - 1)
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
			res, err := Gradient(t.Model, seqs[lo:hi], cur, cfg.Loss, cfg.Temperature, cfg.MicroTokens, t.grads)
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
	timing.BackwardS, timing.OptimizerS = backTime.Seconds(), optTime.Seconds()
	if err := t.checkFinite(step, last.Loss, norm, skipped); err != nil {
		return nil, err
	}
	return &UpdateMetrics{
		Loss: last.Loss, PolicyLoss: last.PolicyLoss, Entropy: last.Entropy, KL: last.KL, ClipFrac: last.ClipFrac,
		OffPolicyTokens: last.OffPolicyTokens, GradNorm: norm, LR: lr, SkippedSteps: skipped,
	}, nil
}

// rolloutMetrics summarises the rollouts: group outcomes before the hint round, the reward
// of the groups trained on and of the plain rollouts, and the plain responses' lengths.
func (t *Trainer) rolloutMetrics(b *stepBatch, seqs []TrainSeq, zeroVar int) *RolloutMetrics {
	var rewardSum, lenSum float64
	lenMax, truncated := 0, 0
	for _, grp := range b.groups {
		for _, r := range grp {
			rewardSum += reward(r)
		}
	}
	for _, r := range b.plain {
		l := len(r.ResponseIDs())
		lenSum += float64(l)
		lenMax = max(lenMax, l)
		if r.Truncated() {
			truncated++
		}
	}
	return &RolloutMetrics{
		NonePass: b.before.NonePass, SomePass: b.before.SomePass, AllPass: b.before.AllPass,
		ZeroVarianceGroups: zeroVar, Sequences: len(seqs),
		RewardMean:       rewardSum / float64(len(b.problems)*t.Config.GroupSize),
		RewardMeanBefore: meanReward(b.plain),
		ResponseLenMean:  lenSum / float64(len(b.plain)),
		ResponseLenMax:   lenMax,
		TruncatedFrac:    float64(truncated) / float64(len(b.plain)),
	}
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
