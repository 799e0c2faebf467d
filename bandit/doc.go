// Package bandit decides which arm (candidate source, model, re-ranking
// weighting) fills each slot of a recommendation slate, learns from the
// clicks and add-to-carts those slots earn, and logs the exact
// probability of every choice so that any other policy can be evaluated
// from the same logs (package ope).
//
// # Policies
//
// Each surface (a place that shows a slate) has its arms and one policy
// over Bernoulli rewards with a Beta(α, β) prior per arm (Prior, default
// Beta(1, 1)):
//   - thompson: draw a reward rate from each arm's Beta posterior and take
//     the largest;
//   - epsilon_greedy: a uniformly random arm with probability ε, otherwise
//     the highest posterior mean;
//   - uniform: a uniformly random arm.
//
// With a HalfLife, pulls and rewards are discounted exponentially with age
// (Counts.DecayedTo), so the posterior follows rewards that drift.
//
// # Propensities
//
// A slate's slots are drawn independently from the same statistics: an
// arm may fill several slots (how the slate splits between sources), and
// each slot's propensity is the marginal probability of its arm. For
// uniform and epsilon_greedy that is a closed form. For thompson it is
// P(arm i draws the largest rate) = ∫ f_i(x) Π_{j≠i} F_j(x) dx, computed
// by adaptive Gauss–Kronrod quadrature with the regularized incomplete
// beta (WinProbabilities) to a stated absolute error bound: below 1e-10
// for counts in the thousands, about 1e-9 at 10^5 (float64 rounding in
// ln Γ dominates there). Tests compare it with a closed form for two arms
// (errors near 1e-12) and with Monte Carlo for more.
//
// # Reproducibility
//
// A decision's draws come from PCG seeded by a hash of surface, guest and
// impression id (DecisionRand): a retried request against the same
// statistics gets the same slate.
//
// # State and its cost
//
// Statistics live in a Store (MemStore in process; a Redis store shares
// them between replicas). Decisions read the store at most once per
// Config.Refresh (1 s) per surface and replica, and integrate the
// Thompson propensities once per read, so the per-request cost is the
// draws alone (BenchmarkDecide). When a refresh fails, decisions use the
// previous statistics and say so (Decision.Stale); their propensities are
// still exact for the statistics they used.
//
// # Rewards
//
// A Learner joins impressions (each slot is one pull of its arm) with
// feedback citing an impression id and slot: the first click or
// add-to-cart within the window is one reward. Late, unknown, repeated
// and non-rewarded feedback is counted, never an error, and memory is
// bounded (expiry at twice the window, MaxPending). Its OnClose hook
// hands each closed impression with its rewards to the writer of the
// off-policy log.
//
// The Learner's clock is event time, the newest impression time it has
// seen: an impression older than twice the window before it is late (no
// pull, LearnerStats.LateImpressions, Late from JoinBatch). Its shared
// twin, redisstore.Join, has no event clock its replicas share and uses
// the wall clock: late there means older than twice the window before
// now. Both count such impressions "late" in aisle_bandit_events_total.
// They differ when the events are not current: a replayed log, a client
// that sends a backlog, or an idle Learner (its clock stands still until
// the next impression). The Learner keeps event time because replay and
// the simulations drive it with past events, which the wall clock would
// find all late.
//
// The package imports nothing of aisle's and no Redis client.
package bandit
