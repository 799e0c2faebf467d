// Package repository manages aisle's model repository: a directory laid out
// the way Triton users know,
//
//	<root>/<model>/config.yaml
//	<root>/<model>/<version>/model.onnx
//
// It parses and validates configs, chooses versions by policy, loads each
// chosen version (runtime sessions behind a batching scheduler), warms it up
// and publishes it atomically. A poller notices new, replaced and removed
// files; a version that fails to load never replaces the one serving.
package repository
