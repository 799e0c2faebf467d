package tokenize

import (
	"slices"
)

// trie is a byte trie over vocabulary pieces for WordPiece's longest-match lookups: one
// walk along the word finds the longest piece, where a map needs one lookup per candidate
// length. Read-only after newTrie.
type trie struct {
	root  [256]uint32 // child of the root for each first byte; 0 = none
	nodes []trieNode  // nodes[0] is unused, so 0 can mean "none"
	edges []trieEdge  // children of each node, sorted by byte
}

type trieNode struct {
	edges uint32 // index of the first child in trie.edges
	count uint32 // number of children
	id    int32  // token id of the piece ending here, or -1
}

type trieEdge struct {
	b     byte
	child uint32
}

// linearEdges is the child count up to which a linear scan beats a binary search.
const linearEdges = 8

// newTrie builds a trie of the keys of pieces.
func newTrie(pieces map[string]int32) *trie {
	type building struct {
		children map[byte]uint32
		id       int32
	}
	nodes := []building{{}, {children: map[byte]uint32{}, id: -1}} // 0 unused, 1 root
	for piece, id := range pieces {
		n := uint32(1)
		for i := range len(piece) {
			child, ok := nodes[n].children[piece[i]]
			if !ok {
				child = uint32(len(nodes))
				nodes = append(nodes, building{children: map[byte]uint32{}, id: -1})
				nodes[n].children[piece[i]] = child
			}
			n = child
		}
		nodes[n].id = id
	}

	t := &trie{nodes: make([]trieNode, len(nodes))}
	for n, b := range nodes {
		if n == 0 {
			continue
		}
		keys := make([]byte, 0, len(b.children))
		for k := range b.children {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		t.nodes[n] = trieNode{edges: uint32(len(t.edges)), count: uint32(len(keys)), id: b.id}
		for _, k := range keys {
			t.edges = append(t.edges, trieEdge{b: k, child: b.children[k]})
		}
	}
	for _, e := range t.edges[t.nodes[1].edges : t.nodes[1].edges+t.nodes[1].count] {
		t.root[e.b] = e.child
	}
	return t
}

// child returns the child of node n along byte b, or 0.
func (t *trie) child(n uint32, b byte) uint32 {
	node := t.nodes[n]
	edges := t.edges[node.edges : node.edges+node.count]
	if len(edges) <= linearEdges {
		for _, e := range edges {
			if e.b == b {
				return e.child
			}
			if e.b > b {
				return 0
			}
		}
		return 0
	}
	lo, hi := 0, len(edges)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if edges[m].b < b {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(edges) && edges[lo].b == b {
		return edges[lo].child
	}
	return 0
}

// longest returns the length and id of the longest piece that word starts with, or
// length 0. Pieces are valid UTF-8, so the length ends on a character boundary.
func (t *trie) longest(word []byte) (n int, id int32) {
	if len(word) == 0 {
		return 0, 0
	}
	node := t.root[word[0]]
	for i := 1; node != 0; i++ {
		if nid := t.nodes[node].id; nid >= 0 {
			n, id = i, nid
		}
		if i == len(word) {
			break
		}
		node = t.child(node, word[i])
	}
	return n, id
}
