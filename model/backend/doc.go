// Package backend is where rollouts and evaluation get their samples: a Generator takes
// prompts as token ids and returns token ids with the log-probability of each token under the
// sampling distribution (the behaviour policy of the trainer's off-policy terms).
//
// Two implementations: Local runs the project's own KV-cached sampler (model/generate) in this
// process; Client sends the prompts to inference engines over HTTP, speaking either SGLang's
// native /generate or the OpenAI-compatible /v1/completions as vLLM serves it. Server is the
// other end of both protocols for the local engine (`ltecli serve`), so that one trainer can
// sample from engines on other machines and tests can check the HTTP path against the local
// one.
//
// The package lives under model/ rather than lte/ because nothing in it knows about RL: it
// moves token ids and sampling parameters, and the trainer, the evaluator and the server all
// depend on it, never the other way round.
//
// Seeds: sample j of prompt i of a call with seed s draws from the random stream of the seed
// generate.PromptSeed(s, i)+j. The HTTP client sends PromptSeed(s, i) as the request's seed
// (vLLM derives the seeds of a request's n samples as seed+j; for SGLang each sample is its
// own batch entry with its own sampling_seed), so `ltecli serve` draws exactly the tokens of
// the local backend for the same seed.
package backend
