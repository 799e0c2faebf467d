package cart

import (
	"github.com/aisle-ai/aisle/graphnn"
	"github.com/aisle-ai/aisle/tensor"
)

// bucket rounds n up to a power of two of at least 4, so graphs of similar
// size get equal shapes and the batcher can put them in one runtime call.
func bucket(n int) int {
	b := 4
	for b < n {
		b *= 2
	}
	return b
}

// bucketTensors copies a one-cart batch into fresh tensors padded to bucket
// sizes: extra nodes are the padding item 0 with no edges, extra positions
// are masked out. The copies outlive the pooled batch they came from.
func bucketTensors(b *graphnn.Batch) []tensor.Tensor {
	n, s := b.Nodes, b.SeqLen
	bn, bs := bucket(n), bucket(s)
	items := make([]int64, bn)
	copy(items, b.Items[:n])
	a := make([]float32, bn*2*bn)
	for i := range n {
		row := b.A[i*2*n : (i+1)*2*n]
		copy(a[i*2*bn:], row[:n])       // A_in
		copy(a[i*2*bn+bn:], row[n:2*n]) // A_out
	}
	alias := make([]int64, bs)
	copy(alias, b.Alias[:s])
	mask := make([]int64, bs)
	copy(mask, b.Mask[:s])
	return []tensor.Tensor{
		tensor.FromSlice("items", []int64{1, int64(bn)}, items),
		tensor.FromSlice("A", []int64{1, int64(bn), int64(2 * bn)}, a),
		tensor.FromSlice("alias", []int64{1, int64(bs)}, alias),
		tensor.FromSlice("mask", []int64{1, int64(bs)}, mask),
	}
}
