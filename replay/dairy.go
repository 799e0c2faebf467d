package replay

import (
	"fmt"
	"math/rand/v2"

	"github.com/aisle-ai/aisle/catalog"
)

// Dairy is what the dairy-heavy guest is heavy in: Instacart's department
// "dairy eggs", and the Groceries aisles that make up the same shelves.
const instacartDairy = "dairy eggs"

var groceriesDairy = map[string]bool{"dairy produce": true, "cheese": true, "shelf-stable dairy": true, "eggs": true}

// IsDairy reports whether an item is dairy (or eggs).
func (s *Source) IsDairy(id string) bool {
	return s.Department[id] == instacartDairy || groceriesDairy[s.Aisle[id]]
}

// DairyShare returns the share of a guest's bought items that are dairy.
func (s *Source) DairyShare(g Guest) float64 {
	var dairy, all int
	for _, o := range g.Orders {
		for _, it := range o.Items {
			all++
			if s.IsDairy(it) {
				dairy++
			}
		}
	}
	if all == 0 {
		return 0
	}
	return float64(dairy) / float64(all)
}

// DairyGuest keeps only the guest with the most dairy-heavy purchases among
// those with at least minOrders orders (the first on a tie), and returns
// it with its dairy share; false when no guest qualifies.
func (s *Source) DairyGuest(minOrders int) (Guest, float64, bool) {
	best, share := -1, -1.0
	for i, g := range s.Guests {
		if len(g.Orders) < minOrders {
			continue
		}
		if sh := s.DairyShare(g); sh > share {
			best, share = i, sh
		}
	}
	if best < 0 {
		return Guest{}, 0, false
	}
	s.Guests = []Guest{s.Guests[best]}
	return s.Guests[0], share, true
}

// GroceriesDairy is Groceries with one synthetic guest, "groceries-dairy",
// whose n baskets are drawn from the baskets of at least two items of
// which at least half are dairy: Groceries has no users, so a guest with a
// dairy-heavy history has to be made of dairy-heavy baskets.
func GroceriesDairy(baskets string, cat *catalog.Catalog, n int, seed uint64) (*Source, error) {
	all, src, err := readBaskets(baskets, cat)
	if err != nil {
		return nil, err
	}
	var heavy [][]string
	for _, b := range all {
		d := 0
		for _, it := range b {
			if src.IsDairy(it) {
				d++
			}
		}
		if len(b) >= 2 && 2*d >= len(b) {
			heavy = append(heavy, b)
		}
	}
	if len(heavy) == 0 {
		return nil, fmt.Errorf("%s: no dairy-heavy baskets", baskets)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6461697279))
	src.Guests = []Guest{syntheticGuest("groceries-dairy", heavy, n, rng)}
	return src, nil
}
