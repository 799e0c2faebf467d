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
// Every parameter is read: the repository refuses a version whose
// parameters hold a key that no registered pipeline reads.
//
// Each cart's graph is padded to a size bucket (4, 8, 16, 32, 64 … nodes
// and positions) so carts of similar size share a batch: the model's
// adjacency input cannot be padded generically by the batcher, and padding
// nodes without edges do not change the session embedding.
package cart
