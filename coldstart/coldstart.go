package coldstart

import (
	"cmp"
	"slices"
)

// Item is the catalogue data the rule reads of one item.
type Item struct {
	Name, Aisle, Department string
}

// Tokens returns name's tokens (package doc), sorted and without
// duplicates; nil when it has none.
func Tokens(name string) []string {
	var out []string
	start := -1
	lower := []byte(name)
	for i := 0; i <= len(lower); i++ {
		word := false
		if i < len(lower) {
			b := lower[i]
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
				lower[i] = b
			}
			word = 'a' <= b && b <= 'z' || '0' <= b && b <= '9'
		}
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			out = append(out, string(lower[start:i]))
			start = -1
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Known is the known items' catalogue data, indexed for Members. It is
// immutable and safe for concurrent use.
type Known struct {
	tokens  [][]string       // by known index, sorted
	byAisle map[string][]int // non-empty aisle → known indices, ascending
	byDept  map[string][]int // non-empty department → known indices, ascending
}

// NewKnown indexes the known items; items[i] is the item of vector row i.
func NewKnown(items []Item) *Known {
	k := &Known{tokens: make([][]string, len(items)), byAisle: map[string][]int{}, byDept: map[string][]int{}}
	for i, it := range items {
		k.tokens[i] = Tokens(it.Name)
		if it.Aisle != "" {
			k.byAisle[it.Aisle] = append(k.byAisle[it.Aisle], i)
		}
		if it.Department != "" {
			k.byDept[it.Department] = append(k.byDept[it.Department], i)
		}
	}
	return k
}

// Members returns the known indices whose vectors make u's, ascending: S1,
// else S2, else S3; nil when u is unreachable. The slice may be shared:
// do not modify it.
func (k *Known) Members(u Item) []int {
	if u.Aisle != "" {
		same := k.byAisle[u.Aisle]
		if toks := Tokens(u.Name); len(toks) > 0 {
			var s1 []int
			for _, i := range same {
				if shares(k.tokens[i], toks) {
					s1 = append(s1, i)
				}
			}
			if len(s1) > 0 {
				return s1
			}
		}
		if len(same) > 0 {
			return same
		}
	}
	if u.Department != "" {
		return k.byDept[u.Department]
	}
	return nil
}

// shares reports whether two sorted token lists have a token in common.
func shares(a, b []string) bool {
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch c := cmp.Compare(a[i], b[j]); {
		case c == 0:
			return true
		case c < 0:
			i++
		default:
			j++
		}
	}
	return false
}

// Mean writes to dst (len = the vectors' dimension) the mean of the rows
// members of vectors (row-major, dim = len(dst)): summed in float64 in
// members' order, divided by len(members), rounded to float32. members
// must not be empty.
func Mean(dst []float32, vectors []float32, members []int) {
	d := len(dst)
	acc := make([]float64, d)
	for _, i := range members {
		for j, x := range vectors[i*d : (i+1)*d] {
			acc[j] += float64(x)
		}
	}
	n := float64(len(members))
	for j := range dst {
		dst[j] = float32(acc[j] / n)
	}
}

// Vectors applies the rule to every item of items: out holds their
// vectors row-major (dim columns; an unreachable item's row is zeros) and
// ok says which are reachable. vectors is the known items' matrix,
// row-major, one row of dim per item given to NewKnown, in that order.
func Vectors(k *Known, vectors []float32, dim int, items []Item) (out []float32, ok []bool) {
	out = make([]float32, len(items)*dim)
	ok = make([]bool, len(items))
	for j, u := range items {
		s := k.Members(u)
		if len(s) == 0 {
			continue
		}
		Mean(out[j*dim:(j+1)*dim], vectors, s)
		ok[j] = true
	}
	return out, ok
}
