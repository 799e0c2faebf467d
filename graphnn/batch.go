package graphnn

// Batch holds the model inputs for a batch of carts as flat row-major slices.
// A Builder fills it, reusing the slices' capacity, so one Batch can serve
// many Build calls without allocating; its contents are valid until the next
// Build into it. The zero value is an empty batch ready to be filled.
type Batch struct {
	// Size is the number of carts (the batch dimension).
	Size int
	// Nodes is n_node: the largest number of graph nodes of any cart,
	// counting the padding node of carts shorter than SeqLen.
	Nodes int
	// SeqLen is seq: the length of the longest cart.
	SeqLen int

	// Items is [Size, Nodes]: each cart's sorted unique item indices plus 1,
	// right-padded with 0.
	Items []int64
	// A is [Size, Nodes, 2*Nodes]: row i holds A_in[i][0:Nodes] then
	// A_out[i][0:Nodes], where A_in[i][j] = 1/indeg(i) for an edge j->i and
	// A_out[i][j] = 1/outdeg(i) for an edge i->j (distinct edges, 0 otherwise).
	A []float32
	// Alias is [Size, SeqLen]: the node index of each cart position; padding
	// positions point at the padding node (index 0).
	Alias []int64
	// Mask is [Size, SeqLen]: 1 for cart positions, 0 for padding.
	Mask []int64
}

// ItemsShape returns the shape of Items: [Size, Nodes].
func (b *Batch) ItemsShape() [2]int64 { return [2]int64{int64(b.Size), int64(b.Nodes)} }

// AShape returns the shape of A: [Size, Nodes, 2*Nodes].
func (b *Batch) AShape() [3]int64 {
	return [3]int64{int64(b.Size), int64(b.Nodes), 2 * int64(b.Nodes)}
}

// SeqShape returns the shape of Alias and Mask: [Size, SeqLen].
func (b *Batch) SeqShape() [2]int64 { return [2]int64{int64(b.Size), int64(b.SeqLen)} }

// reset sizes the slices for a batch of the given dimensions and zeroes them,
// growing a slice only when its capacity is too small.
func (b *Batch) reset(size, nodes, seq int) {
	b.Size, b.Nodes, b.SeqLen = size, nodes, seq
	b.Items = grow(b.Items, size*nodes)
	b.A = grow(b.A, size*nodes*2*nodes)
	b.Alias = grow(b.Alias, size*seq)
	b.Mask = grow(b.Mask, size*seq)
}

// grow returns s resized to n zeroed elements, reusing its array when it fits.
func grow[T int64 | float32 | int | int32](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}
