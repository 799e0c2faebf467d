// Package graphnn turns shopping carts into the session-graph tensors of the
// SR-GNN cart model (Wu et al., "Session-based Recommendation with Graph
// Neural Networks", AAAI 2019) that models/cart-gnn/1/model.onnx consumes.
//
// A cart is a list of item indices in the order they were added: the 0-based
// row numbers of the model's items.tsv (for the default Groceries model these
// are the catalogue ids 0..168). A Builder turns a batch of carts into four
// tensors, bit for bit the ones the training code (scripts/gnn/graph.py) builds:
//
//	items  INT64 [batch, n_node]          sorted unique item ids + 1 of each cart, 0 = padding
//	A      FP32  [batch, n_node, 2*n_node] [A_in | A_out], degree-normalised adjacency
//	alias  INT64 [batch, seq]             node index of each cart position
//	mask   INT64 [batch, seq]             1 for a real position, 0 for padding
//
// seq is the longest cart of the batch and n_node the largest node count.
// Following the reference implementation, a cart shorter than seq gets an
// extra node for the padding id 0 (it sorts first, so it is node 0) that its
// padding positions alias to; that node has no edges and does not change the
// model's outputs, so a cart scores the same alone or in any batch.
//
// The tensors of one batch must come from one Build call over all its carts:
// A cannot be padded generically afterwards, because its last axis holds the
// in and out halves of n_node columns each. The full contract, including the
// model outputs, is in docs/models-gnn.md; testdata/graph_golden.jsonl pins
// the construction against the Python code.
package graphnn
