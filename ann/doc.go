// Package ann finds the items whose embeddings score best against a query
// vector: the candidate stage of Recommend. It holds exact (flat) search and
// a hierarchical navigable small world graph (HNSW, Malkov & Yashunin 2016)
// written for aisle, with filtered search.
//
// # Contract
//
//   - Items are rows. Build takes a row-major float32 matrix, the items.f32
//     a model version ships (catalog.ReadMatrix reads it), and results name
//     rows 0..Len-1; catalog.Table maps a row to an item id. The package
//     imports nothing else of aisle.
//   - Build copies the vectors and is the only writer. An *Index is
//     immutable afterwards: Search, Len, Dim, Metric, Exact and Bytes are
//     safe from any number of goroutines with no locking. To change the
//     items, build a new Index and swap the pointer with the model version.
//   - Build is deterministic: the same vectors, Config and Seed give the
//     same graph for any Config.Workers (inserts run in parallel against a
//     frozen graph, then links are applied in row order). It returns ctx's
//     error if ctx ends first.
//   - Scores are higher-is-better under every metric: the cosine, the dot
//     product, or the negated squared L2 distance. Results come best first,
//     ties broken by the lower row; fewer than K come back only when fewer
//     rows are allowed.
//   - Errors (ErrBadConfig, ErrDimension, ErrBadVector, ErrBadQuery) are all
//     bad input; nothing else fails after Build, except that SearchContext
//     returns its context's error when the context ends, even mid-walk (it
//     looks every 64 expansions or 4,096 scanned rows).
//
// # Choosing exact or graph
//
// Config.Kind Auto (the default) searches exactly below DefaultFlatBelow
// items, where a scan is as fast as the graph and exact, and builds the
// graph above it. Config.EfConstruction is the build's candidate list and
// Config.EfSearch (or Query.Ef) the query's: they are separate knobs.
//
// # Filters
//
// Query.Allow (a predicate: in stock, category) and Query.Exclude (the
// cart) restrict the results. A graph walk under a filter still passes
// through filtered-out nodes, so the graph stays connected, but it must
// expand about ef/p nodes to collect ef allowed ones when a fraction p is
// allowed; a scan of the allowed rows costs n predicate calls plus p·n
// distances and is exact. Search estimates p on a fixed sample of rows
// (256, one per thousand from 256k items up; with Exclude alone p is known,
// 1 − excluded/n, and nothing is sampled) and takes the cheaper
// (scanBeatsWalk: a walk's distances, random row reads, cost more than a
// scan's once the vectors outgrow the caches, so the switch falls from
// about 22% allowed at 50k × 64 and ef 96 to about 3.5% at 1M × 128 and
// ef 64), so recall holds at any selectivity
// (TestFilteredSearch checks 1%, 10%, 50% and 100%, each strategy forced
// and chosen).
//
// # Metrics
//
// Cosine normalises the items at Build and the query per search, then runs
// on dot products; a zero item scores 0, a zero query is ErrBadVector. Dot
// is maximum inner product search, which HNSW's neighbour heuristic handles
// badly as is: the graph is built on vectors with one more coordinate,
// sqrt(maxNorm² − |x|²), so that the nearest L2 neighbour of (q, 0) is the
// row with the largest q·x; results are rescored with the true dot product.
//
// # Memory
//
// About n·dim·4 bytes of vectors (one more float per row under Dot) plus
// n·(2M+1)·4 bytes of layer-0 links, plus 1/M of that again for the upper
// layers: 1M × 128 at M = 16 is about 650 MiB. Bytes reports it.
//
// # Consumer seam
//
// A pipeline needs one method; declare it where it is used, e.g.
//
//	type candidateIndex interface {
//		Search(ann.Query) ([]ann.Result, error)
//	}
package ann
