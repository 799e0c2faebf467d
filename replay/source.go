package replay

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/aisle-ai/aisle/catalog"
)

// Order is one recorded order, replayed as one session.
type Order struct {
	ID string
	// Day is the order's day counted from the guest's first order.
	Day float64
	// Hour is the hour of day the order was placed, 0–23.
	Hour int
	// Items in the order they were added to the cart.
	Items []string
}

// Guest is one guest's orders in time order.
type Guest struct {
	ID     string
	Orders []Order
}

// Source is what Generate replays: guests, and the item facts sessions
// draw searches and browsing from.
type Source struct {
	// Name is "instacart" or "groceries"; events carry it in their
	// session ids.
	Name   string
	Guests []Guest
	// Aisle and Department of each item id.
	Aisle, Department map[string]string
	// byAisle lists each aisle's items, sorted, for views of items not bought.
	byAisle map[string][]string
}

func (s *Source) index() {
	s.byAisle = map[string][]string{}
	for id, a := range s.Aisle {
		s.byAisle[a] = append(s.byAisle[a], id)
	}
	for _, ids := range s.byAisle {
		slices.Sort(ids)
	}
}

// Instacart reads the users_sample orders of the Instacart data in dir
// (dir/users_sample/orders.csv and order_products__prior.csv, dir/products.csv,
// aisles.csv, departments.csv). Guests are "instacart-<user_id>".
func Instacart(dir string) (*Source, error) {
	src := &Source{Name: "instacart", Aisle: map[string]string{}, Department: map[string]string{}}
	aisles, err := readMap(filepath.Join(dir, "aisles.csv"), 0, 1)
	if err != nil {
		return nil, err
	}
	depts, err := readMap(filepath.Join(dir, "departments.csv"), 0, 1)
	if err != nil {
		return nil, err
	}
	if err := eachRow(filepath.Join(dir, "products.csv"), 4, func(r []string) error {
		src.Aisle[r[0]], src.Department[r[0]] = aisles[r[2]], depts[r[3]]
		return nil
	}); err != nil {
		return nil, err
	}
	items := map[string][]string{} // order id → items in add order
	pos := map[string][]int{}
	if err := eachRow(filepath.Join(dir, "users_sample", "order_products__prior.csv"), 3, func(r []string) error {
		n, err := strconv.Atoi(r[2])
		if err != nil {
			return fmt.Errorf("add_to_cart_order %q", r[2])
		}
		items[r[0]] = append(items[r[0]], r[1])
		pos[r[0]] = append(pos[r[0]], n)
		return nil
	}); err != nil {
		return nil, err
	}
	byUser := map[string]*Guest{}
	var users []string
	if err := eachRow(filepath.Join(dir, "users_sample", "orders.csv"), 7, func(r []string) error {
		if r[2] != "prior" || len(items[r[0]]) == 0 {
			return nil
		}
		hour, err := strconv.Atoi(r[5])
		if err != nil || hour < 0 || hour > 23 {
			return fmt.Errorf("order_hour_of_day %q", r[5])
		}
		g := byUser[r[1]]
		if g == nil {
			g = &Guest{ID: "instacart-" + r[1]}
			byUser[r[1]] = g
			users = append(users, r[1])
		}
		day := 0.0
		if n := len(g.Orders); n > 0 && r[6] != "" && r[6] != "NA" {
			gap, err := strconv.ParseFloat(r[6], 64)
			if err != nil || gap < 0 {
				return fmt.Errorf("days_since_prior_order %q", r[6])
			}
			day = g.Orders[n-1].Day + gap
		}
		g.Orders = append(g.Orders, Order{ID: r[0], Day: day, Hour: hour, Items: inAddOrder(items[r[0]], pos[r[0]])})
		return nil
	}); err != nil {
		return nil, err
	}
	for _, u := range users { // orders.csv lists each user's orders by order_number
		src.Guests = append(src.Guests, *byUser[u])
	}
	src.index()
	return src, nil
}

func inAddOrder(items []string, pos []int) []string {
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return pos[a] - pos[b] })
	out := make([]string, len(items))
	for i, j := range idx {
		out[i] = items[j]
	}
	return out
}

// Groceries reads Groceries baskets (groceries.csv: one basket per line,
// item names separated by commas) and makes guests synthetic guests of
// perGuest baskets each (package doc), with item ids, aisles and
// departments from cat (the default repository's catalogue). Guests are
// "groceries-<n>".
func Groceries(baskets string, cat *catalog.Catalog, guests, perGuest int, seed uint64) (*Source, error) {
	all, src, err := readBaskets(baskets, cat)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x67726f63))
	for g := range guests {
		src.Guests = append(src.Guests, syntheticGuest(fmt.Sprintf("groceries-%d", g+1), all, perGuest, rng))
	}
	return src, nil
}

// readBaskets maps each basket's names to catalogue ids.
func readBaskets(path string, cat *catalog.Catalog) ([][]string, *Source, error) {
	src := &Source{Name: "groceries", Aisle: map[string]string{}, Department: map[string]string{}}
	byName := map[string]string{}
	for _, p := range cat.All() {
		byName[p.Name] = p.ID
		src.Aisle[p.ID], src.Department[p.ID] = p.Aisle, p.Department
	}
	src.index()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var all [][]string
	for n, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		var ids []string
		for _, name := range strings.Split(line, ",") {
			id, ok := byName[name]
			if !ok {
				return nil, nil, fmt.Errorf("%s line %d: item %q is not in the catalogue", path, n+1, name)
			}
			ids = append(ids, id)
		}
		all = append(all, ids)
	}
	return all, src, nil
}

// syntheticGuest draws n baskets, shuffles each (Groceries has no add
// order) and spaces them 2–14 days apart at hours 8–21.
func syntheticGuest(id string, baskets [][]string, n int, rng *rand.Rand) Guest {
	g := Guest{ID: id}
	day := 0.0
	for i := range n {
		b := slices.Clone(baskets[rng.IntN(len(baskets))])
		rng.Shuffle(len(b), func(x, y int) { b[x], b[y] = b[y], b[x] })
		if i > 0 {
			day += float64(2 + rng.IntN(13))
		}
		g.Orders = append(g.Orders, Order{ID: fmt.Sprintf("%s-%d", id, i+1), Day: day, Hour: 8 + rng.IntN(14), Items: b})
	}
	return g
}

// eachRow calls fn on every data row of a CSV with at least cols columns.
func eachRow(path string, cols int, fn func([]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if len(rec) < cols {
			return fmt.Errorf("%s line %d: %d columns, want %d", path, line, len(rec), cols)
		}
		if line == 1 {
			continue
		}
		if err := fn(rec); err != nil {
			return fmt.Errorf("%s line %d: %w", path, line, err)
		}
	}
}

func readMap(path string, k, v int) (map[string]string, error) {
	m := map[string]string{}
	err := eachRow(path, max(k, v)+1, func(r []string) error {
		m[r[k]] = r[v]
		return nil
	})
	return m, err
}
