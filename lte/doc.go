// Package lte holds the RL algorithms of the project: GRPO and LTE (Learning to reason from
// Trial and Error). Its pieces are pure functions where they can be: the loss over per-token
// arrays, group advantages, the hint templates and the trial-and-error replay buffer; the
// trainer ties them to the model, the verifier and the optimizer.
package lte
