// Package excerpt quotes client input in error messages at a bounded length.
//
// An error message travels back to the client in the grpc-message trailer,
// and most clients cap headers at 8–16 KB: a message quoting a 1 MB model name
// or a million-dimension shape in full made the client see a stream reset
// instead of INVALID_ARGUMENT, and filled server logs. Every place that puts a
// client-chosen string or shape into an error goes through Quote or Shape,
// which keep a short prefix (MaxBytes of a string, MaxDims of a shape) and say
// how much was left out.
package excerpt
