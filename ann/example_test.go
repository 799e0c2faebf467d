package ann_test

import (
	"context"
	"fmt"

	"github.com/aisle-ai/aisle/ann"
	"github.com/aisle-ai/aisle/catalog"
)

// Build the index of the cart model's item embeddings and ask for the three
// items closest to whole milk, leaving whole milk itself out.
func Example() {
	items, err := catalog.ReadTable("../models/cart-gnn/items.tsv")
	if err != nil {
		panic(err)
	}
	m, err := catalog.ReadMatrix("../models/cart-gnn/items.f32")
	if err != nil {
		panic(err)
	}
	ix, err := ann.Build(context.Background(), m.Data, m.Dim, ann.Config{Metric: ann.Cosine})
	if err != nil {
		panic(err)
	}
	milk, _ := items.RowOfName("whole milk")
	res, err := ix.Search(ann.Query{Vector: m.Row(milk), K: 3, Exclude: []int{milk}})
	if err != nil {
		panic(err)
	}
	fmt.Println("exact:", ix.Exact())
	for _, r := range res {
		fmt.Printf("%s %.2f\n", items.Items[r.Row].Name, r.Score)
	}
	// Output:
	// exact: true
	// other vegetables 0.69
	// yogurt 0.53
	// rolls/buns 0.51
}
