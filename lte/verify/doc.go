// Package verify decides whether a model's response to a math problem is correct: the
// reward of RLVR training and the metric of evaluation.
//
// Verification has three stages:
//
//   - Extract finds the final answer of a response: the last \boxed{} (boxes joined by
//     "and" or commas form a list), else an "answer is"/"Answer:" phrase, else the last
//     math span or number, searching after </think> when there is a think block.
//   - Normalize rewrites an answer into a canonical text: delimiters, spacing, \text{}
//     wrappers, units, currency, thousands separators and trailing punctuation go; percent
//     and degree signs are remembered.
//   - Equivalent parses both answers (LaTeX or plain math) into expression trees and
//     compares them: exact rationals (math/big) where possible, otherwise complex floating
//     point at seeded sample points with a relative tolerance; tuples and matrices in
//     order, sets and lists as multisets, intervals and unions by their pieces, equations up
//     to a constant factor, inequalities by the points where they hold, words as text.
//
// Verify runs all three. Every entry point is deterministic, safe for concurrent use and
// never panics; the time and memory of one call are bounded by limits on input length,
// nesting, number sizes and comparison work, so pathological answers get an incorrect
// verdict rather than a hang.
package verify
