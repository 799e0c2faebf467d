package tokenize_test

import (
	"fmt"
	"log"

	"github.com/aisle-ai/aisle/tokenize"
)

func ExampleLoad() {
	tok, err := tokenize.Load("testdata/tokenizer.json", tokenize.Options{MaxSeqLen: 8})
	if err != nil {
		log.Fatal(err)
	}
	enc, err := tok.Encode("Crème brûlée, 2 x Weißbrot")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(enc.IDs, enc.TokenCount, enc.Truncated)
	fmt.Println(enc.AttentionMask, enc.TypeIDs)
	// The reference tokens: [CLS] cr ##eme br ##ule ##e , 2 x wei ##ß ##bro ##t [SEP],
	// truncated to 8.

	// Output:
	// [101 13675 21382 7987 9307 2063 1010 102] 14 true
	// [1 1 1 1 1 1 1 1] [0 0 0 0 0 0 0 0]
}
