package graphnn

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

var (
	// ErrEmptyBatch is returned by Build when it is given no carts.
	ErrEmptyBatch = errors.New("graphnn: no carts")
	// ErrEmptyCart is returned for a cart without items: the model needs at
	// least one item to pick the last-added one (callers fall back to
	// popularity, see docs/models-gnn.md).
	ErrEmptyCart = errors.New("graphnn: empty cart")
	// ErrInvalidItem is returned for a negative item index, math.MaxInt64, or
	// an index at or above Builder.NumItems when that is set.
	ErrInvalidItem = errors.New("graphnn: invalid item index")
	// ErrCartTooLong is returned for a cart longer than Builder.MaxItems when
	// that is set; Last keeps the most recent items the way training did.
	ErrCartTooLong = errors.New("graphnn: cart too long")
)

// Builder turns carts into session-graph tensors (see the package doc).
//
// The zero value is ready to use and checks nothing but the sign of the item
// indices. A Builder keeps scratch buffers between calls, so after warming up
// Build does not allocate. A Builder is not safe for concurrent use: give each
// goroutine its own (they are cheap), or keep them in a sync.Pool.
type Builder struct {
	// NumItems, when positive, is the number of items the model knows
	// (num_items in config.yaml); indices must be in [0, NumItems).
	NumItems int
	// MaxItems, when positive, is the longest cart accepted (max_cart_items
	// in config.yaml, 50 for the shipped models).
	MaxItems int

	nodes  []int64 // scratch: sorted unique ids (+1) of cart b at b*stride
	counts []int   // scratch: number of nodes of each cart
	deg    []int32 // scratch: in-degrees then out-degrees of one cart's nodes
}

// Last returns the last n items of cart (all of it when it is shorter), the
// truncation the training code applies to carts over max_cart_items.
func Last(cart []int64, n int) []int64 {
	if n > 0 && len(cart) > n {
		return cart[len(cart)-n:]
	}
	return cart
}

// Build fills dst with the tensors for carts, which hold item indices in add
// order. Carts are not modified. Padding follows the reference SR-GNN code:
// every cart is padded to the longest cart and to the largest node count.
// On error dst is left in an unspecified state.
func (b *Builder) Build(carts [][]int64, dst *Batch) error {
	if len(carts) == 0 {
		return ErrEmptyBatch
	}
	seq := 0
	for i, c := range carts {
		if err := b.check(c); err != nil {
			return fmt.Errorf("cart %d: %w", i, err)
		}
		seq = max(seq, len(c))
	}

	// Unique sorted node ids per cart; a padded cart also holds the id 0.
	stride := seq + 1
	b.nodes = grow(b.nodes, len(carts)*stride)
	b.counts = grow(b.counts, len(carts))
	nodes := 0
	for i, c := range carts {
		buf := b.nodes[i*stride : i*stride+stride]
		n := 0
		if len(c) < seq {
			buf[0] = 0
			n = 1
		}
		for _, id := range c {
			buf[n] = id + 1
			n++
		}
		u := buf[:n]
		slices.Sort(u)
		u = slices.Compact(u)
		b.counts[i] = len(u)
		nodes = max(nodes, len(u))
	}

	dst.reset(len(carts), nodes, seq)
	b.deg = grow(b.deg, 2*nodes)
	indeg, outdeg := b.deg[:nodes], b.deg[nodes:]
	for i, c := range carts {
		node := b.nodes[i*stride : i*stride+b.counts[i]]
		copy(dst.Items[i*nodes:], node)
		alias := dst.Alias[i*seq : (i+1)*seq]
		mask := dst.Mask[i*seq : (i+1)*seq]
		for p, id := range c {
			k, _ := slices.BinarySearch(node, id+1)
			alias[p] = int64(k)
			mask[p] = 1
		}
		// Padding positions keep alias 0: the padding node sorts first.
		fillAdjacency(dst.A[i*nodes*2*nodes:(i+1)*nodes*2*nodes], nodes, alias[:len(c)], indeg, outdeg)
	}
	return nil
}

// check validates one cart against the Builder's limits.
func (b *Builder) check(c []int64) error {
	if len(c) == 0 {
		return ErrEmptyCart
	}
	if b.MaxItems > 0 && len(c) > b.MaxItems {
		return fmt.Errorf("%d items, limit %d: %w", len(c), b.MaxItems, ErrCartTooLong)
	}
	for p, id := range c {
		// MaxInt64 is rejected too: the tensors hold id+1.
		if id < 0 || id == math.MaxInt64 || (b.NumItems > 0 && id >= int64(b.NumItems)) {
			return fmt.Errorf("position %d: index %d: %w", p, id, ErrInvalidItem)
		}
	}
	return nil
}

// fillAdjacency writes one cart's [n, 2n] block of A (zeroed on entry) from
// the node index of each cart position, using indeg and outdeg (length n)
// as scratch. An edge u->v exists when some
// position holds u and the next one v; repeated transitions count once.
//
// Pass 1 marks each distinct edge in the out half and counts the degrees;
// pass 2 overwrites the marks with 1/outdeg(u) and sets A_in[v][u] to
// 1/indeg(v). The reciprocal is taken in float64 and rounded to float32 once,
// as numpy's float64 division followed by the float32 cast does.
func fillAdjacency(a []float32, n int, path []int64, indeg, outdeg []int32) {
	w := 2 * n
	clear(indeg)
	clear(outdeg)
	for p := 0; p+1 < len(path); p++ {
		u, v := path[p], path[p+1]
		if o := &a[int(u)*w+n+int(v)]; *o == 0 {
			*o = 1
			outdeg[u]++
			indeg[v]++
		}
	}
	for p := 0; p+1 < len(path); p++ {
		u, v := path[p], path[p+1]
		a[int(u)*w+n+int(v)] = float32(1 / float64(outdeg[u]))
		a[int(v)*w+int(u)] = float32(1 / float64(indeg[v]))
	}
}
