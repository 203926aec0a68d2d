// Package eval measures a model on the evaluation benchmarks the way the LTE paper reports
// it, and renders what it measured.
//
//   - PassAtK is the unbiased pass@k estimator; Aggregate turns per-problem tallies into
//     per-benchmark Pass@1 and Pass@k and their average over benchmarks (Results, whose JSON
//     form is the results.json of an evaluation).
//   - Run generates responses to every benchmark problem through a Generator, verifies them
//     with a Check, appends them to samples.jsonl.zst one zstd frame per problem, and resumes
//     an interrupted evaluation without redoing finished problems. Rescore verifies a stored
//     samples file again without generating.
//   - Table lays the results of several runs out as the paper's table (Markdown or CSV), and
//     PlotMetrics draws a run's training curves from its metrics.jsonl.
//
// Generation and verification come in as functions, so this package does not depend on the
// model or on the verifier and its logic is tested with fakes.
package eval
