package derive

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aisle-ai/aisle/catalog"
)

// Groceries builds the default repository's catalogue from the Groceries
// item tables the models ship: ids and names from cartItems
// (models/cart-gnn/items.tsv), category levels from encoderItems
// (models/query-encoder/items.tsv, columns id, name, level2, level1). The
// two must agree on every id and name. Category is the item name (Groceries
// items are categories: "whole milk"), trimmed of the trailing space two
// arules labels carry; aisle is level2 ("dairy produce") and department
// level1 ("fresh products"). Brand, flavour and size stay empty: the data
// has none. The rest is synthetic (Economics).
func Groceries(cartItems, encoderItems string) ([]catalog.Product, error) {
	items, err := catalog.ReadTable(cartItems)
	if err != nil {
		return nil, err
	}
	levels, err := readTSV(encoderItems, []string{"id", "name", "level2", "level1"})
	if err != nil {
		return nil, err
	}
	if len(levels) != len(items.Items) {
		return nil, fmt.Errorf("%s has %d items, %s %d", encoderItems, len(levels), cartItems, len(items.Items))
	}
	out := make([]catalog.Product, len(items.Items))
	for i, it := range items.Items {
		row := levels[i]
		id := fmt.Sprint(it.ID)
		if row[0] != id || row[1] != it.Name {
			return nil, fmt.Errorf("%s line %d is %s %q, %s has %s %q", encoderItems, i+2, row[0], row[1], cartItems, id, it.Name)
		}
		out[i] = withEconomics(catalog.Product{
			ID: id, Name: it.Name, Category: strings.TrimSpace(it.Name), Aisle: row[2], Department: row[3],
		})
	}
	return out, nil
}

// Instacart builds a catalogue from the Instacart CSVs in dir (products,
// aisles, departments): ids are product_id, aisle and department are the
// CSVs' names, category is the aisle (Instacart has no finer level), and
// brand, flavour and size are derived from the name (names.go, brands.go).
func Instacart(dir string) ([]catalog.Product, error) {
	aisles, err := readNames(filepath.Join(dir, "aisles.csv"), "aisle_id", "aisle")
	if err != nil {
		return nil, err
	}
	depts, err := readNames(filepath.Join(dir, "departments.csv"), "department_id", "department")
	if err != nil {
		return nil, err
	}
	rows, err := readCSV(filepath.Join(dir, "products.csv"), []string{"product_id", "product_name", "aisle_id", "department_id"})
	if err != nil {
		return nil, err
	}
	var names, exclude []string
	for _, r := range rows {
		names = append(names, r[1])
	}
	for _, a := range aisles {
		exclude = append(exclude, a)
	}
	for _, d := range depts {
		exclude = append(exclude, d)
	}
	brands := LearnBrands(names, exclude)
	out := make([]catalog.Product, 0, len(rows))
	for i, r := range rows {
		aisle, ok1 := aisles[r[2]]
		dept, ok2 := depts[r[3]]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("products.csv row %d: unknown aisle %s or department %s", i+2, r[2], r[3])
		}
		name := strings.Join(strings.Fields(r[1]), " ") // some names carry double spaces
		out = append(out, withEconomics(catalog.Product{
			ID: r[0], Name: name, Category: aisle, Aisle: aisle, Department: dept,
			Brand: brands.Of(name), Flavour: Flavour(name), Size: Size(name),
		}))
	}
	return out, nil
}

func withEconomics(p catalog.Product) catalog.Product {
	e := Economics(p.ID)
	p.Price, p.Margin, p.ShippingCost, p.Stock, p.OnPromotion = e.Price, e.Margin, e.ShippingCost, e.Stock, e.OnPromotion
	return p
}

func readNames(path, idCol, nameCol string) (map[string]string, error) {
	rows, err := readCSV(path, []string{idCol, nameCol})
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(rows))
	for _, r := range rows {
		m[r[0]] = r[1]
	}
	return m, nil
}

// readCSV reads a CSV whose header starts with want.
func readCSV(path string, want []string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	return readRows(r.Read, path, want)
}

// readTSV reads a tab-separated file whose header starts with want.
func readTSV(path string, want []string) ([][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	next := 0
	return readRows(func() ([]string, error) {
		if next == len(lines) {
			return nil, io.EOF
		}
		next++
		return strings.Split(lines[next-1], "\t"), nil
	}, path, want)
}

func readRows(read func() ([]string, error), path string, want []string) ([][]string, error) {
	var rows [][]string
	for line := 1; ; line++ {
		rec, err := read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if len(rec) < len(want) {
			return nil, fmt.Errorf("%s line %d: %d columns, want at least %d", path, line, len(rec), len(want))
		}
		if line == 1 {
			if strings.Join(rec[:len(want)], ",") != strings.Join(want, ",") {
				return nil, fmt.Errorf("%s: header %v, want it to start with %v", path, rec, want)
			}
			continue
		}
		rows = append(rows, rec[:len(want)])
	}
}
