package main

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aisle-ai/aisle/guest"
)

// instacartCmd computes long-term features from the Instacart users'
// prior orders: per user, a purchase count per aisle and department,
// decayed with the long-term half-life. Instacart orders carry only days
// between orders, so the last prior order is placed at --as-of and earlier
// ones that many days before. The output is derived from non-commercial
// data: it goes to build/ and is never committed.
func instacartCmd(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("aisle features instacart", flag.ContinueOnError)
	data := fs.String("data", "../shared/data/instacart", "Instacart directory (products.csv, aisles.csv, departments.csv, users_sample/)")
	out := fs.String("out", "build/longterm-instacart.jsonl", "output JSONL (git-ignored build/)")
	asOf := fs.String("as-of", "", "time of each user's last prior order, RFC 3339 (default now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	at := time.Now()
	if *asOf != "" {
		var err error
		if at, err = time.Parse(time.RFC3339, *asOf); err != nil {
			return fmt.Errorf("--as-of: %w", err)
		}
	}
	recs, err := instacartLongTerm(*data, at, guest.DefaultConfig().LongTermHalfLife)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote long-term features of %d users to %s\n", len(recs), *out)
	return nil
}

type instacartOrder struct {
	user        string
	number      int
	daysSince   float64
	atMs        int64
	productRows []string
}

func instacartLongTerm(dir string, asOf time.Time, halfLife time.Duration) ([]guest.LongTerm, error) {
	aisles, err := csvColumnMap(filepath.Join(dir, "aisles.csv"), 0, 1)
	if err != nil {
		return nil, err
	}
	depts, err := csvColumnMap(filepath.Join(dir, "departments.csv"), 0, 1)
	if err != nil {
		return nil, err
	}
	products := map[string][2]string{}
	if err := eachCSV(filepath.Join(dir, "products.csv"), 4, func(r []string) {
		products[r[0]] = [2]string{aisles[r[2]], depts[r[3]]}
	}); err != nil {
		return nil, err
	}
	orders := map[string]*instacartOrder{}
	byUser := map[string][]*instacartOrder{}
	if err := eachCSV(filepath.Join(dir, "users_sample", "orders.csv"), 7, func(r []string) {
		if r[2] != "prior" {
			return
		}
		n, _ := strconv.Atoi(r[3])
		d, _ := strconv.ParseFloat(r[6], 64)
		o := &instacartOrder{user: r[1], number: n, daysSince: d}
		orders[r[0]] = o
		byUser[r[1]] = append(byUser[r[1]], o)
	}); err != nil {
		return nil, err
	}
	if err := eachCSV(filepath.Join(dir, "users_sample", "order_products__prior.csv"), 2, func(r []string) {
		if o := orders[r[0]]; o != nil {
			o.productRows = append(o.productRows, r[1])
		}
	}); err != nil {
		return nil, err
	}
	users := make([]string, 0, len(byUser))
	for u := range byUser {
		users = append(users, u)
	}
	slices.SortFunc(users, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
	hl := halfLife.Milliseconds()
	var recs []guest.LongTerm
	for _, u := range users {
		uo := byUser[u]
		slices.SortFunc(uo, func(a, b *instacartOrder) int { return a.number - b.number })
		t := asOf.UnixMilli()
		for i := len(uo) - 1; i >= 0; i-- { // newest first, stepping back by the gaps
			uo[i].atMs = t
			t -= int64(uo[i].daysSince * 24 * float64(time.Hour.Milliseconds()))
		}
		acc := map[[2]string]guest.Decayed{}
		for _, o := range uo {
			for _, p := range o.productRows {
				ad, ok := products[p]
				if !ok {
					continue
				}
				for i, attr := range [2]string{"aisle", "department"} {
					k := [2]string{attr, ad[i]}
					acc[k] = acc[k].Add(o.atMs, hl)
				}
			}
		}
		rec := guest.LongTerm{GuestID: u}
		for k, d := range acc {
			rec.Affinities = append(rec.Affinities, guest.LongTermAffinity{Attribute: k[0], Value: k[1], Score: d.Score, LastMs: d.LastMs})
		}
		slices.SortFunc(rec.Affinities, func(a, b guest.LongTermAffinity) int {
			return cmp.Or(cmp.Compare(b.Score, a.Score), strings.Compare(a.Attribute+a.Value, b.Attribute+b.Value))
		})
		recs = append(recs, rec)
	}
	return recs, nil
}

// eachCSV calls fn with every record after the header. The header must have
// at least cols fields (fn indexes them), and encoding/csv holds every
// record to the header's count, so no record is shorter.
func eachCSV(path string, cols int, fn func([]string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(head) < cols {
		return fmt.Errorf("%s: %d columns, want at least %d", filepath.Base(path), len(head), cols)
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fn(rec)
	}
}

func csvColumnMap(path string, k, v int) (map[string]string, error) {
	m := map[string]string{}
	err := eachCSV(path, max(k, v)+1, func(r []string) { m[r[k]] = r[v] })
	return m, err
}
