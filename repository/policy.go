package repository

import "sort"

// choose applies the version policy to the available version numbers and
// returns the versions to serve, ascending.
func (p VersionPolicy) choose(available []int64) []int64 {
	sorted := append([]int64(nil), available...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	switch {
	case p.All != nil:
		return sorted
	case p.Specific != nil:
		var out []int64
		for _, v := range sorted {
			for _, want := range p.Specific.Versions {
				if v == want {
					out = append(out, v)
					break
				}
			}
		}
		return out
	}
	n := 1
	if p.Latest != nil {
		n = p.Latest.NumVersions
	}
	if len(sorted) > n {
		sorted = sorted[len(sorted)-n:]
	}
	return sorted
}
