package graphnn_test

import (
	"fmt"

	"github.com/aisle-ai/aisle/graphnn"
)

func ExampleBuilder_Build() {
	// Groceries ids (rows of models/cart-gnn/items.tsv): a cart that added
	// item 3, then 1, then 3 again, then 2; and a single-item cart.
	carts := [][]int64{{3, 1, 3, 2}, {5}}
	b := graphnn.Builder{NumItems: 169, MaxItems: 50}
	var batch graphnn.Batch // reuse across calls: Build then does not allocate
	if err := b.Build(carts, &batch); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("items", batch.ItemsShape(), batch.Items)
	fmt.Println("A    ", batch.AShape())
	fmt.Println("alias", batch.SeqShape(), batch.Alias)
	fmt.Println("mask ", batch.SeqShape(), batch.Mask)

	fmt.Println(b.Build([][]int64{{}}, &batch))
	// Output:
	// items [2 3] [2 3 4 0 6 0]
	// A     [2 3 6]
	// alias [2 4] [2 0 2 1 1 0 0 0]
	// mask  [2 4] [1 1 1 1 1 0 0 0]
	// cart 0: graphnn: empty cart
}
