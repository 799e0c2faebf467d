package catalog

import (
	"errors"
	"iter"
	"strconv"
)

// ErrInvalid reports a catalogue file that fails validation; the wrapped
// message names the line and the field.
var ErrInvalid = errors.New("invalid catalogue")

// Attribute keys returned by ItemAttributes.
const (
	AttrCategory    = "category"
	AttrAisle       = "aisle"
	AttrDepartment  = "department"
	AttrBrand       = "brand"
	AttrFlavour     = "flavour"
	AttrSize        = "size"
	AttrOnPromotion = "on_promotion"
)

// Product is one item of the catalogue file. Values are copies; changing
// one changes nothing in the catalogue.
type Product struct {
	// ID is the item id events, models and indexes use ("166").
	ID string
	// Name is the display and search text ("whole milk").
	Name string
	// Category, Aisle and Department are the category levels, finest
	// first; Brand, Flavour and Size are empty when unknown.
	Category, Aisle, Department string
	Brand, Flavour, Size        string
	// Price is in currency units per item.
	Price float64
	// Margin is the gross margin as a fraction of Price, in [-1, 1].
	Margin float64
	// ShippingCost is in currency units per item.
	ShippingCost float64
	// Stock is the number of units available; 0 means out of stock.
	Stock int64
	// OnPromotion marks an item on a deal (deal-seeking features count it).
	OnPromotion bool
}

// InStock reports whether at least one unit is available.
func (p Product) InStock() bool { return p.Stock > 0 }

// Attributes returns the item's attributes as ItemAttributes describes them
// (package doc): non-empty category levels, brand, flavour and size, and
// on_promotion always.
func (p Product) Attributes() map[string]string {
	m := make(map[string]string, 7)
	for _, kv := range [...]struct{ k, v string }{
		{AttrCategory, p.Category}, {AttrAisle, p.Aisle}, {AttrDepartment, p.Department},
		{AttrBrand, p.Brand}, {AttrFlavour, p.Flavour}, {AttrSize, p.Size},
	} {
		if kv.v != "" {
			m[kv.k] = kv.v
		}
	}
	m[AttrOnPromotion] = strconv.FormatBool(p.OnPromotion)
	return m
}

// Catalog is one loaded catalogue file. It is immutable and safe for
// concurrent use.
type Catalog struct {
	// Version is the header's catalog_version ("" without a header).
	Version string
	// Hash is "sha256:" and the hex SHA-256 of the file's bytes.
	Hash string
	// Source, Doc, Synthetic and Derived come from the header: where the
	// data came from, a note, and which columns are made up or computed.
	Source, Doc        string
	Synthetic, Derived []string

	items  []Product
	byID   map[string]int
	lineOf []int // file line of each item, for duplicate errors; nil once parsed
}

// Empty returns a catalogue without items, for serving without a
// catalogue file (NewStatic(Empty())).
func Empty() *Catalog { return &Catalog{Hash: hashOf(nil), byID: map[string]int{}} }

// Len returns the number of items.
func (c *Catalog) Len() int { return len(c.items) }

// Item returns the item with this id.
func (c *Catalog) Item(id string) (Product, bool) {
	i, ok := c.byID[id]
	if !ok {
		return Product{}, false
	}
	return c.items[i], true
}

// At returns the i-th item in file order, 0 <= i < Len(); indexes use the
// position as a dense row number.
func (c *Catalog) At(i int) Product { return c.items[i] }

// Index returns the file position of an id.
func (c *Catalog) Index(id string) (int, bool) {
	i, ok := c.byID[id]
	return i, ok
}

// ItemAttributes returns a fresh map of the item's attributes (package doc).
func (c *Catalog) ItemAttributes(id string) (map[string]string, bool) {
	i, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	return c.items[i].Attributes(), true
}

// All iterates the items in file order.
func (c *Catalog) All() iter.Seq2[int, Product] {
	return func(yield func(int, Product) bool) {
		for i, p := range c.items {
			if !yield(i, p) {
				return
			}
		}
	}
}

// Label returns "version (sha256:abcdef012345)" for logs and status pages.
func (c *Catalog) Label() string {
	short := c.Hash
	if len(short) > len("sha256:")+12 {
		short = short[:len("sha256:")+12]
	}
	if c.Version == "" {
		return short
	}
	return c.Version + " (" + short + ")"
}
