// Package tensor defines aisle's domain tensor: a data type, a shape and the
// elements as raw little-endian bytes (or a list of byte strings for BYTES).
//
// Raw bytes are the common currency between the wire (KServe
// raw_input_contents), the batcher (which concatenates and splits along the
// batch dimension) and ONNX Runtime (which reads the same bytes in place), so
// a request's data is copied as few times as possible.
package tensor
