package config

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Redacted stands for the value of a secret key in Print's output.
const Redacted = "REDACTED"

// IsSecret reports whether the flag called name holds a secret itself
// rather than the path of a file holding one: a name ending in -password,
// -secret, -token or -credentials (auth-token-file is a path and is shown).
func IsSecret(name string) bool {
	for _, s := range []string{"-password", "-secret", "-token", "-credentials"} {
		if strings.HasSuffix(name, s) || name == s[1:] {
			return true
		}
	}
	return false
}

// Print writes the current value of every flag of fs, except --config and
// the actions (as given to Load), as a YAML mapping
// that Load reads back to the same values. Each key has its help text as a
// comment; a secret key with a value is written as Redacted.
func Print(w io.Writer, fs *flag.FlagSet, actions ...string) error {
	omit := map[string]bool{FileFlag: true}
	for _, s := range actions {
		omit[s] = true
	}
	m := &yaml.Node{Kind: yaml.MappingNode}
	fs.VisitAll(func(f *flag.Flag) {
		if omit[f.Name] {
			return
		}
		k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.Name, HeadComment: f.Usage}
		m.Content = append(m.Content, k, valueNode(f))
	})
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{m},
		HeadComment: fmt.Sprintf("Effective configuration of %s (flag > %s<FLAG> environment > --config file > default).", fs.Name(), EnvPrefix)}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	return enc.Close()
}

// valueNode is f's value typed as YAML: booleans and numbers bare,
// durations and everything else as strings in the flag's own syntax.
func valueNode(f *flag.Flag) *yaml.Node {
	s := f.Value.String()
	if IsSecret(f.Name) && s != "" {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: Redacted}
	}
	tag := "!!str"
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case bool:
			tag = "!!bool"
		case int, int64, uint, uint32, uint64:
			tag = "!!int"
		case float64:
			tag = "!!float"
			if _, err := strconv.ParseInt(s, 10, 64); err == nil {
				s += ".0" // "1" is an int to YAML: printed bare it would need the "!!float" tag
			}
		}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s}
}
