// Package inference runs ONNX models with ONNX Runtime through
// github.com/yalue/onnxruntime_go.
//
// The runtime is a process-wide native library: Init loads it once and
// Shutdown releases it after every Session is destroyed. A Session is one
// loaded copy of a model (one instance in Triton's terms); it is not safe for
// concurrent Run calls, so the batching scheduler gives each instance its own
// goroutine.
//
// A model's external data (tensors whose bytes live in other files) is
// confined to the folder the model was read from: ReadModel refuses, with
// ErrExternalData, any location that is absolute, contains "..", is missing,
// or leads out of the folder through a symbolic link, before the runtime
// opens anything; sessions, built from the model's bytes, are told that
// folder, so the runtime resolves (and itself checks) locations there rather
// than in the working directory. A model given as bytes (ParseModel) may not
// use external data.
package inference
