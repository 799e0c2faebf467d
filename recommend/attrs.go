package recommend

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aisle-ai/aisle/rerank"
)

// item returns an item's attributes and their numbers: the catalogue's
// when one is plugged in and knows the item (numbers from CatalogNumbers
// when it implements it, else nil: rerank parses them), else the merged
// columns of the call's models' item tables (numbers parsed at merge),
// else fallback (a popularity snapshot's copy; numbers nil). The maps are
// shared and read-only.
func (c *call) item(id string, fallback map[string]string) (map[string]string, *rerank.Numbers) {
	if cat := c.p.opts.Catalog; cat != nil {
		if a, ok := cat.ItemAttributes(id); ok {
			if cn, ok := cat.(CatalogNumbers); ok {
				n, _ := cn.ItemNumbers(id)
				return a, n
			}
			return a, nil
		}
	}
	if c.merged == nil {
		c.merged = c.p.mergedAttrs(c.models)
	}
	if a, ok := c.merged.byID[id]; ok {
		return a, c.merged.nums[id]
	}
	return fallback, nil
}

// mergedAttrs are the item-table attributes of a set of model versions,
// merged by id (the first model in name order wins a key), with their
// numbers parsed once. A merge is keyed by each model's version number and
// its item table's load (Items.load): a version replaced in place by a new
// items.tsv keeps its number, and keying on the number alone served the old
// table's attributes until the cache evicted it. Merging per call cost a map per candidate
// (measured: a third of Recommend's allocations), so the pipeline keeps
// the merges of the last maxMerged sets of versions.
type mergedAttrs struct {
	key  string
	byID map[string]map[string]string
	nums map[string]*rerank.Numbers
}

// maxMerged bounds the merges the pipeline keeps: one per set of model
// versions that surfaces use at once (the shipped surfaces use 2), plus
// room for a reload's old and new versions. A single entry made surfaces
// over different models evict each other's merge on every call.
const maxMerged = 8

// mergedCache holds the merges by key, oldest first in order.
type mergedCache struct {
	byKey map[string]*mergedEntry
	order []string
	// builds counts the merges built, for tests.
	builds atomic.Int64
}

// mergedEntry is one key's merge, built once by the first call that needs
// it while the others with the same key wait for it. After a reload every
// concurrent call used to build the new versions' merge (each a map per
// item of every table) and all but one threw theirs away.
type mergedEntry struct {
	once   sync.Once
	merged *mergedAttrs
}

func (p *Pipeline) mergedAttrs(models map[string]*model) *mergedAttrs {
	names := slices.Sorted(maps.Keys(models))
	var key strings.Builder
	for _, name := range names {
		if m := models[name]; m.items != nil {
			fmt.Fprintf(&key, "%s:%d#%d,", name, m.v.Number, m.items.load)
		}
	}
	k := key.String()
	e := p.mergedEntry(k)
	e.once.Do(func() {
		p.attrs.builds.Add(1)
		e.merged = buildMerged(k, names, models)
	})
	return e.merged
}

// mergedEntry returns key's entry, adding it (and evicting the oldest
// beyond maxMerged) when missing.
func (p *Pipeline) mergedEntry(k string) *mergedEntry {
	p.attrsMu.Lock()
	defer p.attrsMu.Unlock()
	if e := p.attrs.byKey[k]; e != nil {
		return e
	}
	if p.attrs.byKey == nil {
		p.attrs.byKey = map[string]*mergedEntry{}
	}
	if len(p.attrs.order) == maxMerged {
		delete(p.attrs.byKey, p.attrs.order[0])
		p.attrs.order = p.attrs.order[1:]
	}
	e := &mergedEntry{}
	p.attrs.byKey[k] = e
	p.attrs.order = append(p.attrs.order, k)
	return e
}

// buildMerged merges the item tables of models, taken in names' order.
func buildMerged(k string, names []string, models map[string]*model) *mergedAttrs {
	merged := &mergedAttrs{key: k, byID: map[string]map[string]string{}, nums: map[string]*rerank.Numbers{}}
	for _, name := range names {
		m := models[name]
		if m.items == nil {
			continue
		}
		for r := range m.items.Len() {
			id := m.items.ID(r)
			dst, ok := merged.byID[id]
			if !ok {
				dst = map[string]string{}
				merged.byID[id] = dst
			}
			for k, v := range m.items.Attributes(r) {
				if _, seen := dst[k]; !seen {
					dst[k] = v
				}
			}
		}
	}
	for id, a := range merged.byID {
		n := rerank.ParseNumbers(a)
		merged.nums[id] = &n
	}
	return merged
}
