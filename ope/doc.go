// Package ope estimates, from logs of a bandit's decisions, the reward
// another policy would have earned: off-policy evaluation.
//
// # Inputs
//
// A log is a list of Rounds, one per shown slot: the action at a
// position, its reward, and the logging policy's probability of that
// action there (the propensity, which aisle's bandits log with every
// decision). The caller adds the evaluated policy's probability of the
// same action (Target) and, for the doubly robust estimator, a reward
// model's terms (FillDR: a context-free table per action and position,
// cross-fitted). ReadOBD reads the Open Bandit Dataset's CSV files and
// ReadJSONL aisle's own impression log (ImpressionRecord per line).
//
// # Estimators
//
// IPS, self-normalised IPS and doubly robust, each with a percentile
// bootstrap interval (Evaluate). All need the logging policy to give
// every action the evaluated policy may choose a positive probability;
// a policy evaluated from a greedy log is not identifiable, which is why
// aisle logs exact propensities and keeps some exploration. Values are
// per round (per shown slot): a click rate when rewards are clicks.
//
// # Validation
//
// The tests check unbiasedness and interval coverage on synthetic logs
// with known truth. cmd/aisle's "ope --obd" runs the Open Bandit
// Dataset check (estimate the Thompson-sampling policy's click rate from
// the uniform-random log, compare with the click rate it achieved), whose
// figures are in BANDITS.md.
//
// The package imports nothing of aisle's; it is pure arithmetic over logs.
package ope
