// Package tasks makes the synthetic verifiable task of the embedded demonstration, the SFT
// data that warm-starts a tiny model on it, and the files of that model before warm-up.
//
// # The task
//
// Each problem is a modular equation: find the x in {0, ..., K-1} with (a·x + b) mod K = c,
// K an odd prime (7, 11 or 13 by default), so the answer is unique and is a plain integer that
// any verifier checks inside \boxed{}. Problems come in three kinds:
//
//   - direct, x mod K = c: the answer is written in the question;
//   - shift, (x + b) mod K = c: one modular subtraction;
//   - scale, (a·x + b) mod K = c with a ≥ 2: the inverse of a is needed, which a model of half
//     a million parameters does not compute; it can only guess among the K candidates.
//
// A fifth of the problems are word problems ("Take a whole number x between 0 and 12,
// multiply it by 3, add 5, and divide by 13: the remainder is 7. What is x?"). The difficulty
// knob (Config) is the set of moduli (more candidates, fewer lucky guesses), the shares of
// the kinds and the share of word problems. Training and validation splits are drawn from a
// seed and are disjoint by equation; the SFT data use other equations still.
//
// # The warm-started model, by design
//
// SFT teaches a prior, not a solver (Equation.Prior). Direct problems: right 94% of the time.
// Shift problems: right half the time, otherwise the typical slips (b ignored, b added).
// Scale problems: mostly the slips of ignoring a (c-b, c, c+b mod K), and otherwise a guess
// spread evenly over the remaining candidates, the right one among them. Word problems make it
// ramble three times in four: a response that walks through the candidates twice, 45 or more
// tokens, which a max-token limit of about 32 cuts off (a short answer is 9 or 10 tokens).
// With G = 8 samples per problem this gives, if SFT fits the prior, about 45% none-pass
// problems (most scale problems, most word problems), about 50% some-pass and a few all-pass.
//
// Hinted SFT examples play an LTE hint round: a group of 4 to 16 plain answers is sampled
// from the prior until it holds no correct answer, its distinct wrong answers are listed with
// the project's own hint templates (lte.HintEngine), the template is chosen by truncation as
// the trainer chooses it (hint, concise_hint, concise), and the target answer is drawn from the
// prior conditioned on not being listed. Concise templates always get a short answer. So the
// model learns to read a hint as evidence and nothing more: it never sees the answer of a
// training or validation problem, and listing the slips only moves their probability to the
// other candidates. For a none-pass problem that makes a hinted group of 8 find the answer
// about 60% of the time, against about 25% for 8 more plain samples (GRPO-Extra's control).
//
// # Why this task shows exploration stagnation
//
// GRPO learns only from some-pass groups. On a scale problem the model keeps stepping into the
// same river: its plain samples are the same few slips, so the problem stays none-pass and gives
// no gradient. LTE lists those slips; the model's remaining guesses then often hit the answer,
// and the correct hinted responses, trained as responses to the plain prompt, raise the answer's
// probability on that problem until plain sampling finds it too. Word problems exercise the
// truncation-dependent templates: when all of a group ramble past the limit the hint only asks
// for concision, when some do it also lists the wrong answers of the others.
//
// What this does not show: the model does not learn modular inverses in a few minutes of RL;
// on scale problems it learns, problem by problem, answers found by trial and error, so gains on
// the training problems need not carry over to the validation ones.
package tasks
