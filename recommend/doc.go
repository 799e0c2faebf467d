// Package recommend is aisle's end-to-end recommendation pipeline. This
// first part holds the item space a model version ships (Items: item table,
// embeddings and an Index over them, loaded and drained with the version)
// and the consumer-side Index seam with its exact stand-in, FlatIndex.
package recommend
