// Command catalog writes a catalogue file (package catalog's JSONL) from a
// public data set; the rules are in package catalog/derive.
//
//	go run ./scripts/catalog                      # models/catalog.jsonl from the Groceries item tables (committed)
//	go run ./scripts/catalog -source instacart    # build/catalog/instacart/catalog.jsonl from ../shared/data/instacart (never committed)
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/catalog/derive"
)

func main() {
	source := flag.String("source", "groceries", "groceries or instacart")
	models := flag.String("models", "models", "model repository holding cart-gnn/ and query-encoder/ (groceries)")
	data := flag.String("data", dataDir(), "Instacart CSV folder (instacart); default $AISLE_DATA/instacart or ../shared/data/instacart")
	out := flag.String("out", "", "output file (default models/catalog.jsonl or build/catalog/instacart/catalog.jsonl)")
	flag.Parse()
	if err := run(*source, *models, *data, *out); err != nil {
		fmt.Fprintln(os.Stderr, "catalog:", err)
		os.Exit(1)
	}
}

func dataDir() string {
	if d := os.Getenv("AISLE_DATA"); d != "" {
		return filepath.Join(d, "instacart")
	}
	return filepath.Join("..", "shared", "data", "instacart")
}

func run(source, models, data, out string) error {
	var (
		items []catalog.Product
		h     derive.Header
		err   error
	)
	switch source {
	case "groceries":
		items, err = derive.Groceries(filepath.Join(models, "cart-gnn", "items.tsv"), filepath.Join(models, "query-encoder", "items.tsv"))
		h = derive.GroceriesHeader
		if out == "" {
			out = filepath.Join(models, catalog.DefaultFile)
		}
	case "instacart":
		items, err = derive.Instacart(data)
		h = derive.InstacartHeader
		if out == "" {
			out = filepath.Join("build", "catalog", "instacart", catalog.DefaultFile)
		}
	default:
		return fmt.Errorf("unknown -source %q (groceries or instacart)", source)
	}
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := derive.Write(&buf, h, items); err != nil {
		return err
	}
	c, err := catalog.Parse(buf.Bytes()) // never write a file the server would refuse
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	// Write beside the target and rename, so a serving Store never reads a
	// half-written file.
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Printf("%s: %d items, %s\n", out, c.Len(), c.Label())
	return nil
}
