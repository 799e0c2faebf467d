// Package repository manages aisle's model repository: a directory laid out
// the way Triton users know,
//
//	<root>/<model>/config.yaml
//	<root>/<model>/<version>/model.onnx
//
// It parses and validates configs, chooses versions by policy, loads each
// chosen version (runtime sessions behind a batching scheduler), warms it up
// (or, without model_warmup, probes it once, so a model that cannot be
// served is refused rather than marked ready) and publishes it atomically.
// A model with a 0-d input or output has no batch dimension: a config that
// batches it is served unbatched, with a warning. A poller notices new, replaced and removed
// files; a version that fails to load never replaces the one serving.
//
// Requests are checked against the resolved config before they are queued
// (input names, types, shapes, the value range of integer inputs that
// declare one, and the model's integer-division guards: no zero divisor,
// which would kill the process, see inference.InputGuard), so a request
// that would fail inside the runtime is refused with ErrInvalidInput
// instead of failing the batch it would join. Warm-up data and ragged pad
// values pass the same guards at load. Refusal
// reasons name files relative to the repository root, never by the server's
// absolute paths.
package repository
