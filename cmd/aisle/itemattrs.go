package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// tsvItems is a stopgap item-attribute source until the catalogue package
// serves attributes: the default repository's models/cart-gnn/items.tsv
// (ids, the Groceries names) joined by id with
// models/query-encoder/items.tsv (level2 and level1 categories), giving
// category = name, aisle = level2, department = level1.
type tsvItems map[string]map[string]string

// loadTSVItems reads the two tables under the model repository; a missing
// cart-gnn table yields nil (no item checks, no attributes).
func loadTSVItems(models string) (tsvItems, error) {
	ids, err := readTSV(filepath.Join(models, "cart-gnn", "items.tsv"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	levels, err := readTSV(filepath.Join(models, "query-encoder", "items.tsv"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	byName := map[string]map[string]string{}
	for _, r := range levels {
		byName[r["name"]] = r
	}
	out := tsvItems{}
	for _, r := range ids {
		a := map[string]string{"category": r["name"]}
		if l := byName[r["name"]]; l != nil {
			a["aisle"], a["department"] = l["level2"], l["level1"]
		}
		out[r["id"]] = a
	}
	return out, nil
}

// readTSV reads a headed tab-separated table into one map per row.
func readTSV(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return nil, fmt.Errorf("%s: empty", path)
	}
	head := strings.Split(sc.Text(), "\t")
	var rows []map[string]string
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		r := make(map[string]string, len(head))
		for i, h := range head {
			if i < len(cols) {
				r[h] = cols[i]
			}
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// ItemAttributes implements guest.ItemAttributes.
func (t tsvItems) ItemAttributes(id string) (map[string]string, bool) {
	a, ok := t[id]
	return a, ok
}

// Known implements event.Catalog.
func (t tsvItems) Known(id string) bool { _, ok := t[id]; return ok }
