// Package inference runs ONNX models with ONNX Runtime through
// github.com/yalue/onnxruntime_go.
//
// The runtime is a process-wide native library: Init loads it once and
// Shutdown releases it after every Session is destroyed. A Session is one
// loaded copy of a model (one instance in Triton's terms); it is not safe for
// concurrent Run calls, so the batching scheduler gives each instance its own
// goroutine.
//
// # Shapes
//
// Every tensor shape ONNX Runtime accepts is served: 0-d tensors (scalars,
// shape []), tensors with a zero dimension (no elements, no data) and models
// without inputs, for every element type in both directions, including
// runtime-allocated FP16 and BF16 outputs of any shape.
//
// onnxruntime_go v1.27.0 cannot do this, and the fix belongs in the wrapper,
// so aisle builds against a patched copy of it, carried in
// third_party/onnxruntime_go (a go.mod replace directive; the patch and the
// reason for each change are in its PATCH.md, to be proposed upstream). The
// wrapper rejected 0-d shapes and zero-length data when creating a tensor,
// indexed an empty input list when a model has none, copied one byte per
// element of runtime-allocated 2-byte types, and, when converting one
// runtime-allocated output failed, returned a typed nil Value (a nil-pointer
// panic on Destroy) and never released the outputs after it: about 0.6 kB
// per request on a model whose 0-d output was not its last. Now a failed
// conversion releases every value the run allocated, so Run leaks nothing on
// any path; TestScalarOutputsDoNotLeak holds resident memory flat over
// 40,000 runs.
// A model's external data (tensors whose bytes live in other files) is
// confined to the folder the model was read from: ReadModel refuses, with
// ErrExternalData, any location that is absolute, contains "..", is missing,
// or leads out of the folder through a symbolic link, before the runtime
// opens anything; sessions, built from the model's bytes, are told that
// folder, so the runtime resolves (and itself checks) locations there rather
// than in the working directory. A model given as bytes (ParseModel) may not
// use external data.
package inference
