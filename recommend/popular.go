package recommend

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// popularSnapshot is a copy of a model's popularity table and its items'
// attributes, kept so that the popular source still answers while the
// model is reloading or failed (the last rung of the ladder). It is
// immutable once built.
type popularSnapshot struct {
	version int64
	ids     []string // most popular first
	names   []string
	attrs   []map[string]string
	pop     map[string]float64
	attrsOf map[string]map[string]string
}

// snapshot returns the popularity snapshot of a ready model, refreshing
// the cached copy when the version changed.
func (p *Pipeline) snapshot(name string, m *model) *popularSnapshot {
	p.snapMu.Lock()
	defer p.snapMu.Unlock()
	s := p.snapshots[name]
	if m != nil && m.err == nil && m.items != nil && (s == nil || s.version != m.v.Number) {
		s = newSnapshot(m.v.Number, m.items)
		p.snapshots[name] = s
	}
	return s
}

func newSnapshot(version int64, it *Items) *popularSnapshot {
	s := &popularSnapshot{version: version, pop: map[string]float64{}, attrsOf: map[string]map[string]string{}}
	for _, r := range it.Popular() {
		s.ids = append(s.ids, it.ID(r))
		s.names = append(s.names, it.Name(r))
		s.attrs = append(s.attrs, it.Attributes(r))
		s.pop[it.ID(r)] = it.Popularity(r)
		s.attrsOf[it.ID(r)] = it.Attributes(r)
	}
	return s
}

// popular adds the source's most popular items, within the request's
// categories when it names some. A model that is not ready answers from
// its last snapshot (rung candidates/popular_snapshot).
func (c *call) popular(src Source, m *model) {
	s := c.popularItems(src.Model, m)
	if s == nil {
		return
	}
	var hits []scored
	excl := c.excluded()
	for i, id := range s.ids {
		if len(hits) == src.Budget {
			break
		}
		if excl[id] || c.inCart[id] || !c.inCategories(id, s.attrs[i]) {
			continue
		}
		hits = append(hits, scored{id, s.names[i], s.pop[id]})
	}
	c.add(SourcePopular, normalise(hits, src.Weight))
}

// popularItems returns the popularity snapshot of a popular source's
// model, flagging the rung when it comes from a model not ready.
func (c *call) popularItems(name string, m *model) *popularSnapshot {
	s := c.p.snapshot(name, m)
	if m.err != nil {
		if s == nil {
			c.degrade(StageCandidates, "popular_"+reasonOf(m.err))
			return nil
		}
		c.degrade(StageCandidates, "popular_snapshot")
	}
	if c.popularity == nil && s != nil {
		c.popularity = s
	}
	return s
}

// inCategories reports whether an item passes the request's category
// restriction.
func (c *call) inCategories(id string, fallback map[string]string) bool {
	if len(c.req.Filters.Categories) == 0 {
		return true
	}
	cat := c.attrs(id, fallback)[c.sf.Rerank.CategoryAttr()]
	for _, want := range c.req.Filters.Categories {
		if cat == want {
			return true
		}
	}
	return false
}

// attrs returns an item's attributes: the catalogue's when one is plugged
// in and knows the item, else the merged columns of the call's models'
// item tables, else fallback (a popularity snapshot's copy). The map is
// shared and read-only.
func (c *call) attrs(id string, fallback map[string]string) map[string]string {
	if cat := c.p.opts.Catalog; cat != nil {
		if a, ok := cat.ItemAttributes(id); ok {
			return a
		}
	}
	if c.merged == nil {
		c.merged = c.p.mergedAttrs(c.models)
	}
	if a, ok := c.merged.byID[id]; ok {
		return a
	}
	return fallback
}

// mergedAttrs are the item-table attributes of a set of model versions,
// merged by id (the first model in name order wins a key). Merging per call
// cost a map per candidate (measured: a third of Recommend's allocations),
// so the pipeline keeps the last merge and rebuilds it when the versions
// change.
type mergedAttrs struct {
	key  string
	byID map[string]map[string]string
}

func (p *Pipeline) mergedAttrs(models map[string]*model) *mergedAttrs {
	names := slices.Sorted(maps.Keys(models))
	var key strings.Builder
	for _, name := range names {
		if m := models[name]; m.items != nil {
			fmt.Fprintf(&key, "%s:%d,", name, m.v.Number)
		}
	}
	if cur := p.attrs.Load(); cur != nil && cur.key == key.String() {
		return cur
	}
	merged := &mergedAttrs{key: key.String(), byID: map[string]map[string]string{}}
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
	p.attrs.Store(merged)
	return merged
}
