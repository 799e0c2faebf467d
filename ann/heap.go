package ann

// cand is a node and its distance to the query (lower is closer).
type cand struct {
	d  float32
	id uint32
}

// closer orders candidates by distance, then by id so that equal distances
// (duplicate or zero vectors) still give one deterministic order.
func closer(a, b cand) bool {
	if a.d != b.d {
		return a.d < b.d
	}
	return a.id < b.id
}

// minHeap pops the closest candidate first. The heaps are written out rather
// than using container/heap: its interface calls cost about a third of the
// search time in the first profile.
type minHeap []cand

func (h *minHeap) push(c cand) {
	*h = append(*h, c)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !closer(s[i], s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *minHeap) pop() cand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	*h = s
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && closer(s[r], s[l]) {
			m = r
		}
		if !closer(s[m], s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	return top
}

// maxHeap keeps the farthest candidate on top: the bounded result set of a
// search, whose top is the one to evict.
type maxHeap []cand

func (h *maxHeap) push(c cand) {
	*h = append(*h, c)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !closer(s[p], s[i]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *maxHeap) pop() cand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	*h = s
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && closer(s[l], s[r]) {
			m = r
		}
		if !closer(s[i], s[m]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	return top
}

// top returns the farthest kept candidate; the heap must not be empty.
func (h maxHeap) top() cand { return h[0] }

// bounded pushes c into a result set capped at size k, evicting the farthest.
func (h *maxHeap) bounded(c cand, k int) {
	if len(*h) < k {
		h.push(c)
		return
	}
	if closer(c, (*h)[0]) {
		(*h)[0] = c
		h.fix0()
	}
}

// fix0 restores the heap after its top was replaced.
func (h maxHeap) fix0() {
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && closer(h[l], h[r]) {
			m = r
		}
		if !closer(h[i], h[m]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
