// Package recommend is aisle's end-to-end recommendation pipeline: one
// call with a guest, a session, a cart, recent views and maybe a query
// returns a short slate for a surface (cart, search, home) within the
// request's deadline.
//
// # Stages and budgets
//
// A surface (surfaces.yaml in the model repository, strict and hot-reloaded
// by SurfaceStore) names its candidate sources, their budgets, the re-rank
// objective and the bandit's arms. A call runs
//
//	features ∥ embeddings → candidates → filter + re-rank → slate → impression
//
// each stage under its budget (Surface.Budgets) inside the request's own
// deadline:
//
//   - features: the guest's attribute affinities (Features), beside
//   - embeddings: the cart's session embedding from a cart model
//     (cart.Recommender.Session), or, for a cart model that serves the
//     A11 ensemble (cart.Recommender.Blends), its own top items as
//     RecommendCart ranks them (TopRows), and the query's embedding from a
//     text encoder, in parallel, through the models' batching schedulers;
//   - candidates: session → the cart model's item index (the ensemble's
//     top when the model blends); query → hybrid
//     search (hybrid.go, candidates.go): the union of three top-C lists
//     (the encoder index's by cosine, BM25's over the catalogue's names,
//     the category-intent term's over the query's likeliest categories,
//     its ties broken by cosine; C = hybrid.candidates, default 200,
//     at least the source's budget; each list skips the items the call
//     excludes, so exclusions do not shrink the union)
//     scored by fusion.Blend of the three signals (Text, TextIndex),
//     with the source's hybrid weights
//     for its route (a query equal to a category name, or any other),
//     exactly as MODELS.md evaluates it (docs/evaluation.md A7, A9,
//     TestHybridGolden); its hits carry relevance by rank (byRank);
//     recent views → their nearest items; popular (per category when
//     the request names categories); new_items (newitems.go) → the
//     catalogue items the cart model has no vector for, given one by
//     docs/evaluation.md A13's cold-start rule (package coldstart, bit for
//     bit scripts/eval/coldstart.py: TestColdStartGolden) and scored by
//     the dot product with the session embedding the session source uses
//     (computed once per model and call: with the ensemble's own run when
//     the model blends, TopRows). Its table is built once per
//     (catalogue, model version), in a goroutine the embeddings stage
//     starts (overlapping the model run) and no call waits for: until it
//     is done the source contributes nothing (no rung); a build that
//     fails gives the rung candidates/new_items_unavailable. It is
//     kept with the version's Items and
//     rebuilt when the catalogue is swapped; it needs a Catalog that
//     implements CatalogItems, and contributes nothing (no rung) without
//     a cart, a ready model or new items. Each source's scores are
//     normalised to [0, weight] (new_items: on the scale of the model's
//     own top 20 known items for the session, since min–max within a
//     source of one item would give it the full weight for every cart)
//     and merged by item (best source wins);
//   - re-rank: rerank.Rank with the surface's objective, filters and
//     diversity, attributes from Catalog (or the models' item tables);
//   - slate: the Bandit's choice among the top arms, with exact
//     propensities, or the top k with propensity 1;
//   - impression: written to the EventLog under the response's id, so
//     feedback can credit it; not for a Request with NoImpression (a
//     caller that may not write), nor without an EventLog, and then the
//     response has no id.
//
// # Degradation ladder
//
// No stage failure fails the call while something can still be shown; each
// rung taken is named in Response.Degraded and counted in
// aisle_recommend_degraded_total{stage,reason}:
//
//	features/unknown_guest       no guest id, or the store does not know it: non-personal
//	features/not_configured      no feature store plugged in
//	features/timeout|unavailable the store was late or down: no features
//	embeddings/model_not_ready   a source's model is loading, failed or absent: its source is skipped
//	embeddings/timeout|unavailable the model call ran out of budget or failed
//	candidates/<source>_<reason> a source's search failed
//	candidates/popular_snapshot  the popular model is not ready: its last snapshot answers
//	candidates/backfill          fewer than k candidates survived the filters: popular items fill in
//	slate/bandit_<reason>        the bandit failed or answered an invalid slate: top k, propensity 1
//	impression/<reason>          the event log write failed; the answer stands
//	impression/not_authorized    the caller may not write: not logged, no impression id
//
// The only call that fails for lack of candidates is one whose popular
// model has never been ready (ErrNoCandidates). Stage latencies are in
// aisle_recommend_stage_duration_seconds{surface,stage}.
//
// # Seams
//
// Every collaborator is a one-method interface in deps.go (Features,
// Catalog, Text, Bandit, EventLog; a Catalog may also implement
// CatalogNumbers, its numeric attributes parsed at load, and
// CatalogItems, the whole catalogue for the new_items source) or index.go
// (Index, built per model version by ItemsExtension from the version's own
// <version>/<items>.f32 when it ships one, else the model directory's
// <items>.f32, and closed when the version is drained; FlatIndex is the exact stand-in). aisle serve
// plugs in the ann index, the catalogue, a TextIndex over it, the guest
// feature reader, the bandit and the event log (cmd/aisle/adapters.go). A
// nil collaborator switches its part off visibly. The package never imports
// server, proto, grpc or a store client.
package recommend
