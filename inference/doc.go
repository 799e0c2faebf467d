// Package inference runs ONNX models with ONNX Runtime through
// github.com/yalue/onnxruntime_go.
//
// The runtime is a process-wide native library: Init loads it once and
// Shutdown releases it after every Session is destroyed. A Session is one
// loaded copy of a model (one instance in Triton's terms); it is not safe for
// concurrent Run calls, so the batching scheduler gives each instance its own
// goroutine.
package inference
