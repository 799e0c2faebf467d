package derive

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/aisle-ai/aisle/catalog"
)

// Header is the catalogue file's first line (package catalog's doc).
type Header struct {
	Version   string   `json:"catalog_version"`
	Source    string   `json:"source,omitempty"`
	Synthetic []string `json:"synthetic,omitempty"`
	Derived   []string `json:"derived,omitempty"`
	Doc       string   `json:"doc,omitempty"`
}

// SyntheticColumns are the columns Economics draws.
var SyntheticColumns = []string{"price", "margin", "shipping_cost", "stock", "on_promotion"}

// line fixes the field order of an item line; brand, flavour and size are
// left out when empty, which the reader takes as "".
type line struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Category     string  `json:"category,omitempty"`
	Aisle        string  `json:"aisle,omitempty"`
	Department   string  `json:"department,omitempty"`
	Brand        string  `json:"brand,omitempty"`
	Flavour      string  `json:"flavour,omitempty"`
	Size         string  `json:"size,omitempty"`
	Price        float64 `json:"price"`
	Margin       float64 `json:"margin"`
	ShippingCost float64 `json:"shipping_cost"`
	Stock        int64   `json:"stock"`
	OnPromotion  bool    `json:"on_promotion"`
}

// Write writes a catalogue file: the header, then one line per item.
func Write(w io.Writer, h Header, items []catalog.Product) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false) // "cookies & cream", not "cookies \u0026 cream"
	if err := enc.Encode(h); err != nil {
		return err
	}
	for _, p := range items {
		if err := enc.Encode(line{
			ID: p.ID, Name: p.Name, Category: p.Category, Aisle: p.Aisle, Department: p.Department,
			Brand: p.Brand, Flavour: p.Flavour, Size: p.Size, Price: p.Price, Margin: p.Margin,
			ShippingCost: p.ShippingCost, Stock: p.Stock, OnPromotion: p.OnPromotion,
		}); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// GroceriesHeader heads the default repository's catalogue.
var GroceriesHeader = Header{
	Version:   "groceries-1",
	Source:    "Groceries (arules, Hahsler/Hornik/Reutterer, GPL-3): ids and names from models/cart-gnn/items.tsv, level2/level1 from models/query-encoder/items.tsv",
	Synthetic: SyntheticColumns,
	Doc: "category = item name, aisle = level2, department = level1; brand, flavour, size absent (Groceries items are categories). " +
		"price, margin, shipping_cost, stock and on_promotion are SYNTHETIC: drawn from a seeded hash of the id by catalog/derive (seed " + Seed + "), not real. " +
		"Regenerate with: go run ./scripts/catalog",
}

// InstacartHeader heads the Instacart catalogue built into build/.
var InstacartHeader = Header{
	Version:   "instacart-1",
	Source:    "Instacart Online Grocery Shopping Dataset 2017 (non-commercial use only; never commit this file): products, aisles, departments",
	Synthetic: SyntheticColumns,
	Derived:   []string{"category", "brand", "flavour", "size"},
	Doc: "aisle and department from the CSVs; category = aisle; brand, flavour and size DERIVED from the product name by the rules of catalog/derive. " +
		"price, margin, shipping_cost, stock and on_promotion are SYNTHETIC (seeded hash of the id, seed " + Seed + "). " +
		"Regenerate with: go run ./scripts/catalog -source instacart",
}
