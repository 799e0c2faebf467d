// Package embedding turns text into normalised vectors with a BERT-family
// encoder served from the model repository: tokenize → batch → run →
// pool → L2-normalise.
//
// A model opts in through its config.yaml parameters:
//
//	parameters:
//	  tokenizer: tokenizer.json   # or vocab.txt, relative to the model directory
//	  max_seq_len: "32"           # tokens including [CLS]/[SEP]; longer text is truncated
//	  pooling: mean               # mean over the attention mask, cls, or none (output already pooled)
//	  normalize: "true"           # L2-normalise the pooled vector
//	  output: last_hidden_state   # the output to pool (default: the first output)
//
// Each text becomes its own request to the version's batching scheduler,
// so texts of different lengths from many callers share runtime calls
// through the ragged-input path.
package embedding
