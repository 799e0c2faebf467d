package derive

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/aisle-ai/aisle/catalog"
)

// The names below are invented for these tests (no data set's rows): each
// expected value was checked by hand against the rules in names.go.
func TestSize(t *testing.T) {
	for name, want := range map[string]string{
		"Crunchy Oat Bar 12 oz":                 "12 oz",
		"ZESTY SALSA 14OZ.":                     "14 oz",
		"Sparkling Water 1.5 Fl Oz":             "1.5 fl oz",
		"Herbal Tea Bags - 24 CT":               "24 ct",
		"Lemon Soda 6-Pack":                     "6 pack",
		"Mixed 12 pk Lager":                     "12 pack",
		"Ground Coffee 2 lbs":                   "2 lb",
		"Olive Oil 500 ml":                      "500 ml",
		"Fancy Cookies, Pack of 4":              "4 pack",
		"Whole Milk Half Gallon":                "0.5 gal",
		"Reduced Fat Milk Gallon":               "1 gal",
		"Large Brown Eggs Dozen":                "12 ct",
		"Vanilla Ice Cream Pint":                "1 pt",
		"Seven Grain Bread":                     "",
		"4 Grain Crackers":                      "",
		"2% Reduced Fat Milk":                   "",
		"Fiber 4g Gummies":                      "4 g", // a nutrient read as a size: the rule sees words
		"Paper Towels (6 Count, 2 ply)":         "6 ct",
		"Chicken Broth 32.0 ounce":              "32 oz",
		"Water 1 Liter":                         "1 l",
		"Diapers Size 6":                        "",
		"Orange Juice 59 fl. oz with Pulp 2 ct": "59 fl oz",
	} {
		if got := Size(name); got != want {
			t.Errorf("Size(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestFlavour(t *testing.T) {
	for name, want := range map[string]string{
		"Mint Chocolate Chip Ice Cream":       "mint chocolate chip",
		"Greek Yogurt, Strawberry":            "strawberry",
		"Cookies & Cream Frozen Dessert":      "cookies & cream",
		"Peach Mango Smoothie":                "peach", // the earliest flavour wins
		"Kettle Chips Sea Salt & Vinegar":     "sea salt & vinegar",
		"Pineapple Chunks":                    "pineapple",     // whole words: not "apple"
		"Applesauce Cups":                     "",              // nor inside a word
		"Honey Roasted Peanuts":               "honey roasted", // the longest entry at the earliest start
		"Whole Wheat Bread":                   "",
		"Jalapeño Kettle Chips":               "jalapeño",
		"Dark Chocolate Bar with Almonds 3oz": "dark chocolate",
	} {
		if got := Flavour(name); got != want {
			t.Errorf("Flavour(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestBrands(t *testing.T) {
	names := []string{
		// "Zorblatt" leads five names and appears nowhere else: a brand.
		"Zorblatt Crunchy Oat Bar", "Zorblatt Honey Granola", "Zorblatt Cocoa Puffs",
		"Zorblatt Fruit Loops", "Zorblatt Bran Flakes",
		// "Mister Bloom" leads five names with the same second word: a
		// two-word brand.
		"Mister Bloom Lavender Soap", "Mister Bloom Rose Soap", "Mister Bloom Hand Wash",
		"Mister Bloom Body Lotion", "Mister Bloom Shampoo",
		// "Crispy" leads five names but also sits inside three: not a brand.
		"Crispy Rice Cereal", "Crispy Onions", "Crispy Bacon Bits", "Crispy Wafers", "Crispy Kale",
		"Extra Crispy Fries", "Oven Crispy Chicken", "Super Crispy Nuggets",
		// "Yogurt" is excluded as an aisle word.
		"Yogurt Raisins", "Yogurt Pretzels", "Yogurt Bites", "Yogurt Melts", "Yogurt Drops",
		// "Quuxly" leads only three names: too few.
		"Quuxly Tea", "Quuxly Coffee", "Quuxly Cocoa",
	}
	b := LearnBrands(names, []string{"yogurt", "cereal"})
	for name, want := range map[string]string{
		"Zorblatt Crunchy Oat Bar":   "Zorblatt",
		"Zorblatt Bran Flakes":       "Zorblatt",
		"Mister Bloom Lavender Soap": "Mister Bloom",
		"Mister Sparkle Window Wash": "", // the brand is two words
		"Crispy Rice Cereal":         "",
		"Yogurt Raisins":             "",
		"Quuxly Tea":                 "",
		"Zorblatt":                   "", // a brand needs a product word after it
	} {
		if got := b.Of(name); got != want {
			t.Errorf("Of(%q) = %q, want %q", name, got, want)
		}
	}
	if b.Len() != 2 {
		t.Errorf("Len = %d, want 2", b.Len())
	}
}

func TestEconomics(t *testing.T) {
	a, b := Economics("166"), Economics("166")
	if a != b {
		t.Fatal("not deterministic")
	}
	var out, promo int
	for i := range 2000 {
		e := Economics(string(rune('a'+i%26)) + string(rune('0'+i/26%10)) + string(rune('A'+i/260)))
		if e.Price < minPrice || e.Price > maxPrice || e.Margin < minMargin || e.Margin > maxMargin ||
			e.ShippingCost < minShipping || e.ShippingCost > maxShipping || e.Stock < 0 || e.Stock > maxStock {
			t.Fatalf("out of range: %+v", e)
		}
		if cents := int(e.Price*100+0.5) % 10; cents != 9 {
			t.Fatalf("price %v does not end in 9", e.Price)
		}
		if e.Stock == 0 {
			out++
		}
		if e.OnPromotion {
			promo++
		}
	}
	// Shares within a few standard deviations of 8 % and 15 % of 2,000.
	if out < 110 || out > 210 || promo < 240 || promo > 360 {
		t.Errorf("out of stock %d, on promotion %d of 2000", out, promo)
	}
}

// TestCommittedGroceries regenerates the default repository's catalogue and
// compares it byte for byte with the committed file, so the file and the
// script that makes it cannot drift apart.
func TestCommittedGroceries(t *testing.T) {
	models := filepath.Join("..", "..", "models")
	items, err := Groceries(filepath.Join(models, "cart-gnn", "items.tsv"), filepath.Join(models, "query-encoder", "items.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, GroceriesHeader, items); err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join(models, catalog.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), committed) {
		t.Fatal("models/catalog.jsonl differs from what the script writes: run go run ./scripts/catalog")
	}
	c, err := catalog.Parse(committed)
	if err != nil {
		t.Fatal(err)
	}
	milk, ok := c.Item("166")
	if !ok || milk.Name != "whole milk" || milk.Aisle != "dairy produce" || milk.Department != "fresh products" || milk.Category != "whole milk" {
		t.Errorf("166 = %+v", milk)
	}
	if cc, _ := c.Item("40"); cc.Name != "cream cheese " || cc.Category != "cream cheese" {
		t.Errorf("40 = %+v (the trailing space stays in the name only)", cc)
	}
	if c.Len() != 169 || c.Version != "groceries-1" || len(c.Synthetic) != 5 {
		t.Errorf("%d items, version %q, synthetic %v", c.Len(), c.Version, c.Synthetic)
	}
}
