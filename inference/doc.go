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
//
// # Integer division
//
// ONNX Runtime's integer Div, and Mod with fmod 0, trap (SIGFPE, which Go
// cannot recover in C code) on a zero divisor, and at 32 and 64 bits on
// the minimum divided by -1: one request would end the process. ReadModel
// therefore walks the graph before the runtime sees it (divisor.go), with
// light element-type propagation (declared types, initializers, Constant,
// Cast, Shape and the like, ops that keep their input's type). A constant
// zero divisor (initializer or Constant, through Reshape, Gather and other
// ops that only move elements) is refused with ErrUnsafeDivision, and so is
// an integer (or undeterminable) divisor computed inside the graph, since
// no request check can see its values. A divisor that is a graph input
// becomes an InputGuard in Model.Guards, which the repository checks on
// every request before batching (and on warm-up data and ragged pad
// values); the minimum/-1 pair guards the dividend (or, failing that, the
// divisor).
package inference
