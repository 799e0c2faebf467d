package tokenize

import (
	"encoding/json"
	"errors"
	"fmt"
)

// tokenizerJSON is the part of a Hugging Face tokenizer.json that a BERT WordPiece
// tokenizer uses.
type tokenizerJSON struct {
	Truncation *struct {
		MaxLength int    `json:"max_length"`
		Direction string `json:"direction"`
	} `json:"truncation"`
	Padding *struct {
		PadID *int64 `json:"pad_id"`
	} `json:"padding"`
	AddedTokens []struct {
		ID         int64  `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         struct {
		Type                    string           `json:"type"`
		UnkToken                *string          `json:"unk_token"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    *int             `json:"max_input_chars_per_word"`
		Vocab                   map[string]int32 `json:"vocab"`
	} `json:"model"`
}

// typed reads the "type" of a component; "" for null or absent.
func typed(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var v struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	return v.Type, nil
}

func parseTokenizerJSON(data []byte) (*spec, error) {
	var f tokenizerJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse tokenizer.json: %w", err)
	}
	if f.Model.Type != "WordPiece" {
		return nil, fmt.Errorf("%w: model type %q, want WordPiece", ErrUnsupported, f.Model.Type)
	}
	if len(f.Model.Vocab) == 0 {
		return nil, errors.New("model has an empty vocabulary")
	}
	sp := &spec{
		vocab:    f.Model.Vocab,
		unkToken: deref(f.Model.UnkToken, defaultUnkToken),
		subword:  deref(f.Model.ContinuingSubwordPrefix, defaultSubwordPrefix),
		maxChars: deref(f.Model.MaxInputCharsPerWord, defaultMaxWordChars),
	}
	var err error
	if sp.norm, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	switch typ, err := typed(f.PreTokenizer); {
	case err != nil:
		return nil, fmt.Errorf("parse pre_tokenizer: %w", err)
	case typ != "BertPreTokenizer":
		return nil, fmt.Errorf("%w: pre_tokenizer %q, want BertPreTokenizer", ErrUnsupported, typ)
	}
	if err := parsePostProcessor(f.PostProcessor, sp); err != nil {
		return nil, err
	}
	for _, at := range f.AddedTokens {
		switch {
		case at.Content == "":
			continue
		case at.SingleWord || at.LStrip || at.RStrip || at.Normalized:
			return nil, fmt.Errorf("%w: added token %q with single_word, lstrip, rstrip or normalized",
				ErrUnsupported, at.Content)
		}
		sp.added = append(sp.added, addedToken{content: at.Content, id: at.ID})
	}
	if tr := f.Truncation; tr != nil {
		if tr.Direction != "" && tr.Direction != "Right" {
			return nil, fmt.Errorf("%w: truncation direction %q", ErrUnsupported, tr.Direction)
		}
		sp.maxSeqLen = tr.MaxLength
	}
	if f.Padding != nil {
		sp.padID = f.Padding.PadID
	}
	return sp, nil
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// parseNormalizer reads a BertNormalizer (or none). strip_accents null follows lowercase,
// as in the reference.
func parseNormalizer(raw json.RawMessage) (normalizer, error) {
	typ, err := typed(raw)
	switch {
	case err != nil:
		return normalizer{}, fmt.Errorf("parse normalizer: %w", err)
	case typ == "":
		return normalizer{}, nil
	case typ != "BertNormalizer":
		return normalizer{}, fmt.Errorf("%w: normalizer %q, want BertNormalizer", ErrUnsupported, typ)
	}
	var v struct {
		CleanText          *bool `json:"clean_text"`
		HandleChineseChars *bool `json:"handle_chinese_chars"`
		StripAccents       *bool `json:"strip_accents"`
		Lowercase          *bool `json:"lowercase"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return normalizer{}, fmt.Errorf("parse normalizer: %w", err)
	}
	n := normalizer{
		cleanText:    deref(v.CleanText, true),
		chineseChars: deref(v.HandleChineseChars, true),
		lowercase:    deref(v.Lowercase, true),
	}
	n.stripAccents = deref(v.StripAccents, n.lowercase)
	return n, nil
}

// parsePostProcessor reads a TemplateProcessing or BertProcessing post-processor (or none)
// into sp's special tokens for a single sequence.
func parsePostProcessor(raw json.RawMessage, sp *spec) error {
	typ, err := typed(raw)
	if err != nil {
		return fmt.Errorf("parse post_processor: %w", err)
	}
	switch typ {
	case "":
		return nil
	case "BertProcessing":
		var v struct {
			Sep [2]json.RawMessage `json:"sep"`
			CLS [2]json.RawMessage `json:"cls"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("parse post_processor: %w", err)
		}
		var cls, sep int64
		if err := json.Unmarshal(v.CLS[1], &cls); err != nil {
			return fmt.Errorf("parse post_processor cls: %w", err)
		}
		if err := json.Unmarshal(v.Sep[1], &sep); err != nil {
			return fmt.Errorf("parse post_processor sep: %w", err)
		}
		sp.prefix = []specialToken{{id: cls}}
		sp.suffix = []specialToken{{id: sep}}
		return nil
	case "TemplateProcessing":
		return parseTemplate(raw, sp)
	default:
		return fmt.Errorf("%w: post_processor %q", ErrUnsupported, typ)
	}
}

func parseTemplate(raw json.RawMessage, sp *spec) error {
	type piece struct {
		ID     string `json:"id"`
		TypeID int64  `json:"type_id"`
	}
	var v struct {
		Single []struct {
			SpecialToken *piece `json:"SpecialToken"`
			Sequence     *piece `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int64 `json:"ids"`
		} `json:"special_tokens"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("parse post_processor: %w", err)
	}
	seen := false
	for _, p := range v.Single {
		switch {
		case p.Sequence != nil:
			if seen || p.Sequence.ID != "A" {
				return fmt.Errorf("%w: template sequence %q", ErrUnsupported, p.Sequence.ID)
			}
			seen = true
			sp.seqTypeID = p.Sequence.TypeID
		case p.SpecialToken != nil:
			st, ok := v.SpecialTokens[p.SpecialToken.ID]
			if !ok {
				return fmt.Errorf("template special token %q has no ids", p.SpecialToken.ID)
			}
			for _, id := range st.IDs {
				tok := specialToken{id: id, typeID: p.SpecialToken.TypeID}
				if seen {
					sp.suffix = append(sp.suffix, tok)
				} else {
					sp.prefix = append(sp.prefix, tok)
				}
			}
		default:
			return errors.New("template piece is neither SpecialToken nor Sequence")
		}
	}
	if !seen {
		return fmt.Errorf("%w: template without $A", ErrUnsupported)
	}
	return nil
}
