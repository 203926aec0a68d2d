// Package tasks makes the synthetic verifiable task of the embedded demonstration, the SFT
// data that warm-starts a tiny model on it, and the files of that model before warm-up.
//
// # The task
//
// Each problem is a modular equation: find the x in {0, ..., K-1} with (a·x + b) mod K = c,
// a a unit mod K so that the answer is unique. By default K is 5 to 9, so every answer is one
// digit, checked in \boxed{} by any verifier. Problems come in two kinds:
//
//   - direct, x mod K = c: the answer is written in the question (a tenth of the problems);
//   - search, any other a and b: the answer needs modular arithmetic that a model of half a
//     million parameters does not learn in minutes; it has to search the candidates.
//
// A fifth of the problems are word problems ("Take a whole number x between 0 and 8, multiply
// it by 2, add 5, and divide by 9: the remainder is 7. What is x?"). The difficulty knob
// (Config) is the set of moduli (more candidates, more answers the model's search rarely
// reaches), the share of direct problems and the share of word problems. Training and
// validation splits are drawn from a seed and are disjoint by equation; the SFT data use other
// equations still.
//
// # The warm-started model, by design
//
// SFT teaches a prior, not a solver (Equation.Prior). On direct problems the model copies the
// answer 94% of the time. On search problems it searches from 0 upwards and stops early:
// candidate v gets probability proportional to 0.5^v whatever the equation, so answers 0 and 1
// are often found and answers of 4 and more almost never. Word problems make it ramble three
// times in four: a response of 34 or more tokens that names a few candidates before answering,
// which a max-token limit of about 24 cuts off (a short answer is 9 tokens). With G = 8 samples
// per problem this gives, if SFT fits the prior, about 55% none-pass problems (search problems
// with larger answers, most word problems), most of the rest some-pass, and a few all-pass.
//
// Hinted SFT examples play an LTE hint round: a group of 4 to 16 answers is sampled, from the
// prior or (half the time, so that the model learns to exclude whatever is listed) evenly from
// all candidates, until it holds no correct answer; its distinct wrong answers are listed with
// the project's own hint templates (lte.HintEngine); the template is chosen by truncation as the
// trainer chooses it (hint, concise_hint, concise); and the target answer is drawn from the prior
// conditioned on not being listed. Concise templates always get a short answer. So the model
// learns to read a hint as evidence and nothing more: it never sees the answer of a training or
// validation problem, and listing its mistakes only moves their probability to the candidates
// its search had not reached. For a none-pass problem that makes a hinted group of 8 find the
// answer about 65% of the time, against about 20% for 8 more plain samples (GRPO-Extra's
// control).
//
// # Why this task shows exploration stagnation
//
// GRPO learns only from some-pass groups. On a search problem with a larger answer the model
// keeps stepping into the same river: its samples are the same small candidates, so the problem
// stays none-pass and gives no gradient. LTE lists those candidates; the model's search then
// goes on past them and often hits the answer, and the correct hinted responses, trained as
// responses to the plain prompt, raise the answer's probability on that problem until plain
// sampling finds it too. Word problems exercise the truncation-dependent templates: when all of
// a group ramble past the limit the hint only asks for concision, when some do it also lists the
// wrong answers of the others.
//
// What this does not show: the model does not learn modular arithmetic in a few minutes of RL;
// on search problems it learns, problem by problem, answers found by trial and error, so gains on
// the training problems need not carry over to the validation ones (beyond a general shift of
// its search towards larger candidates).
package tasks
