package main

import (
	"cmp"
	"encoding/json"
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
	"github.com/aisle-ai/aisle/replay"
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

// instacartLongTerm folds each user's prior orders, as replay.Instacart
// reads them (one reader of the Instacart files, with its checks), into
// decayed purchase counts per aisle and department. The last prior order is
// at asOf, earlier ones their replayed day gap before it.
func instacartLongTerm(dir string, asOf time.Time, halfLife time.Duration) ([]guest.LongTerm, error) {
	src, err := replay.Instacart(dir)
	if err != nil {
		return nil, err
	}
	hl := halfLife.Milliseconds()
	dayMs := float64(24 * time.Hour.Milliseconds())
	recs := make([]guest.LongTerm, 0, len(src.Guests))
	for _, g := range src.Guests {
		if len(g.Orders) == 0 {
			continue
		}
		last := g.Orders[len(g.Orders)-1].Day
		acc := map[[2]string]guest.Decayed{}
		for _, o := range g.Orders {
			at := asOf.UnixMilli() - int64((last-o.Day)*dayMs)
			for _, item := range o.Items {
				aisle, ok := src.Aisle[item]
				if !ok {
					continue
				}
				for _, k := range [2][2]string{{"aisle", aisle}, {"department", src.Department[item]}} {
					acc[k] = acc[k].Add(at, hl)
				}
			}
		}
		rec := guest.LongTerm{GuestID: strings.TrimPrefix(g.ID, "instacart-")}
		for k, d := range acc {
			rec.Affinities = append(rec.Affinities, guest.LongTermAffinity{Attribute: k[0], Value: k[1], Score: d.Score, LastMs: d.LastMs})
		}
		slices.SortFunc(rec.Affinities, func(a, b guest.LongTermAffinity) int {
			return cmp.Or(cmp.Compare(b.Score, a.Score), strings.Compare(a.Attribute+a.Value, b.Attribute+b.Value))
		})
		recs = append(recs, rec)
	}
	slices.SortFunc(recs, func(a, b guest.LongTerm) int {
		x, _ := strconv.Atoi(a.GuestID)
		y, _ := strconv.Atoi(b.GuestID)
		return x - y
	})
	return recs, nil
}
