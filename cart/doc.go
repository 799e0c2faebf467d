// Package cart answers "what else goes in this cart?" with a
// session-graph neural network (SR-GNN) served from the model repository:
// cart → session graph (graphnn) → model → scores over the catalogue →
// top-k without the cart's own items.
//
// A model opts in through its config.yaml parameters:
//
//	parameters:
//	  pipeline: cart-gnn
//	  items: items                 # items.tsv (+ items.f32): row r = model item index r
//	  popular: popular.tsv         # most popular first; the answer for an empty cart
//	  max_cart_items: "50"         # longer carts keep their most recent items
//	  exclude_cart_items: "true"   # never recommend what is already in the cart
//	  scores: dot                  # dot: scores = session · items.f32; log_prob: the repeat-explore mixture
//	  num_items: "169"             # optional check: must equal the item table's length
//	  embedding_dim: "64"          # optional check: must equal the session output's size
//
// With four more parameters the ranking is the A11 ensemble of MODELS.md
// (docs/evaluation.md A11; scripts/eval/run_ensemble.py) instead of the
// model's scores alone:
//
//	ensemble_sessions: sessions.txt    # training baskets, item ids, one a line ('#' comments)
//	ensemble_weights: "0.3 0.6 0.1"    # GNN, session kNN, co-occurrence; in [0, 1], sum 1
//	ensemble_knn_k: "200"              # neighbours of session kNN
//	ensemble_cooccurrence: cosine      # cosine or count
//
// Per request, over the catalogue: the model's scores, session kNN
// (knn.go) and co-occurrence (cooccurrence.go) fitted on the sessions
// file, each turned into normalised ranks (0 worst, 1 best, ties share
// their mean rank), blended by weight; ties go to the item more frequent
// in the sessions, then the lower row (ensemble.go). Served = evaluated:
// the kNN keeps the neighbours numpy's argpartition keeps (introselect.go)
// and float sums run in numpy's order, and server/TestEnsembleGolden
// checks the top 20 against run_ensemble.py's for 60 held-out carts. The
// set is all or nothing, and a bad or missing sessions file refuses the
// version. Tens of µs a cart on 169 items and 8,742 sessions (43 µs for
// 2 items, 79 µs for 10 on a shared machine, BENCHMARKS.md §3a); Recommend's session source then takes the model's
// own top (TopRows) instead of an index search with the session
// embedding.
//
// Every parameter is read: the repository refuses a version whose
// parameters hold a key that no registered pipeline reads.
//
// Each cart's graph is padded to a size bucket (4, 8, 16, 32, 64 … nodes
// and positions) so carts of similar size share a batch: the model's
// adjacency input cannot be padded generically by the batcher, and padding
// nodes without edges do not change the session embedding.
package cart
