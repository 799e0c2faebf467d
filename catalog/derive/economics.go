package derive

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
)

// Seed names the draw of the synthetic columns. Changing it re-draws every
// price; bump it only together with the committed catalogue.
const Seed = "aisle-catalog-v1"

// Ranges of the synthetic columns, chosen to look like a grocery shelf:
// prices log-uniform between 0.49 and 19.99 (most items cheap, a few
// dear), gross margins 5–45 %, shipping 0.05–1.50 per item, 8 % of items
// out of stock, 15 % on promotion.
const (
	minPrice, maxPrice       = 0.49, 19.99
	minMargin, maxMargin     = 0.05, 0.45
	minShipping, maxShipping = 0.05, 1.50
	outOfStockShare          = 0.08
	maxStock                 = 200
	promotionShare           = 0.15
)

// Econ holds the synthetic columns of one item.
type Econ struct {
	Price, Margin, ShippingCost float64
	Stock                       int64
	OnPromotion                 bool
}

// Economics draws the synthetic columns of an item from its id.
func Economics(id string) Econ {
	p := math.Exp(math.Log(minPrice) + unit(id, "price")*(math.Log(maxPrice)-math.Log(minPrice)))
	e := Econ{
		// Shelf prices end in 9: floor to the dime, add 0.09.
		Price:        round2(math.Max(minPrice, math.Floor(p*10)/10+0.09)),
		Margin:       round2(minMargin + unit(id, "margin")*(maxMargin-minMargin)),
		ShippingCost: round2(minShipping + unit(id, "shipping")*(maxShipping-minShipping)),
		OnPromotion:  unit(id, "promotion") < promotionShare,
	}
	if unit(id, "in_stock") >= outOfStockShare {
		e.Stock = 1 + int64(unit(id, "stock")*maxStock)
	}
	return e
}

// unit is a uniform draw in [0, 1) from the seed, the column and the id.
func unit(id, column string) float64 {
	sum := sha256.Sum256([]byte(Seed + "/" + column + "/" + id))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
