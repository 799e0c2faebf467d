package catalog_test

import (
	"fmt"
	"path/filepath"

	"github.com/aisle-ai/aisle/catalog"
)

// The default repository's catalogue: attributes for guest features, typed
// fields for re-ranking.
func ExampleStore() {
	store, err := catalog.Open(catalog.StoreOptions{Path: filepath.Join("..", "models", catalog.DefaultFile)})
	if err != nil {
		fmt.Println(err)
		return
	}
	// go store.Run(ctx) follows changes to the file until ctx is done.
	version, _ := store.Version()
	attrs, _ := store.ItemAttributes("166")
	milk, _ := store.Item("166")
	fmt.Println(version, store.Catalog().Len())
	fmt.Println(attrs["category"], "|", attrs["aisle"], "|", attrs["department"], "|", attrs["on_promotion"])
	fmt.Println(milk.Name, milk.Price, milk.InStock())
	// Output:
	// groceries-1 169
	// whole milk | dairy produce | fresh products | false
	// whole milk 1.09 true
}
