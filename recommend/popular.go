package recommend

// popularSnapshot is a copy of a model's popularity table and its items'
// attributes, kept so that the popular source still answers while the
// model is reloading or failed (the last rung of the ladder). It is
// immutable once built.
type popularSnapshot struct {
	version int64
	// load is the item table's Items.load, which alone identifies the
	// table: a version replaced in place (a new items.tsv under the same
	// number) keeps its number but not its table, and loads only grow in
	// a process.
	load    uint64
	ids     []string // most popular first
	names   []string
	attrs   []map[string]string
	pop     map[string]float64
	attrsOf map[string]map[string]string
}

// snapshotsKept is how many popularity snapshots the pipeline keeps per
// model: while a reload's old and new versions both serve calls, each
// call holding the version the single kept snapshot was not of rebuilt it
// (a copy of the whole popularity table) and evicted the other's.
const snapshotsKept = 2

// modelSnapshots are one model's snapshots, the most recently built first.
type modelSnapshots [snapshotsKept]*popularSnapshot

// snapshot returns the popularity snapshot of a ready model's item table,
// building it when none of the kept ones is of that table (Items.load);
// for a model not ready, the kept one of the latest load (not the most
// recently built: a late call on an old version rebuilds that one last;
// nor the highest version: after a rollback, v3 removed and v2 loaded
// again, the kept v3 is the removed one).
func (p *Pipeline) snapshot(name string, m *model) *popularSnapshot {
	p.snapMu.Lock()
	defer p.snapMu.Unlock()
	kept := p.snapshots[name]
	if m == nil || m.err != nil || m.items == nil {
		var newest *popularSnapshot
		for _, s := range kept {
			if s != nil && (newest == nil || s.load > newest.load) {
				newest = s
			}
		}
		return newest
	}
	for _, s := range kept {
		if s != nil && s.load == m.items.load {
			return s
		}
	}
	s := newSnapshot(m.v.Number, m.items)
	copy(kept[1:], kept[:snapshotsKept-1])
	kept[0] = s
	p.snapshots[name] = kept
	p.snapshotBuilds++
	return s
}

func newSnapshot(version int64, it *Items) *popularSnapshot {
	s := &popularSnapshot{version: version, load: it.load, pop: map[string]float64{}, attrsOf: map[string]map[string]string{}}
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
// categories when it names some and without the items skipID names (the
// cart only when the surface filters it, as the other sources do). A
// model that is not ready answers from its last snapshot (rung
// candidates/popular_snapshot).
func (c *call) popular(src Source, m *model) {
	s := c.popularItems(src.Model, m)
	if s == nil {
		return
	}
	hits := make([]scored, 0, min(src.Budget, len(s.ids)))
	for i, id := range s.ids {
		if len(hits) == src.Budget {
			break
		}
		if c.skipID(id) || !c.inCategories(id, s.attrs[i]) {
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
	attrs, _ := c.item(id, fallback)
	return c.inCategory(attrs)
}

// inCategory is inCategories for attributes already looked up.
func (c *call) inCategory(attrs map[string]string) bool {
	if len(c.req.Filters.Categories) == 0 {
		return true
	}
	cat := attrs[c.sf.Rerank.CategoryAttr()]
	for _, want := range c.req.Filters.Categories {
		if cat == want {
			return true
		}
	}
	return false
}
