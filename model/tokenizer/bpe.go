package tokenizer

import (
	"hash/maphash"
	"strings"
	"sync"
)

// byteLevelRune[b] is the character that stands for byte b in a byte-level vocabulary
// (GPT-2's bytes_to_unicode): printable Latin-1 bytes stand for themselves, the others are
// shifted to U+0100 and up in byte order, so that no token contains spaces or control
// characters.
var byteLevelRune [256]rune

// byteOfRune maps the characters of byteLevelRune back to their bytes.
var byteOfRune = map[rune]byte{}

func init() {
	shifted := rune(256)
	for b := range 256 {
		if ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF) {
			byteLevelRune[b] = rune(b)
		} else {
			byteLevelRune[b] = shifted
			shifted++
		}
		byteOfRune[byteLevelRune[b]] = byte(b)
	}
}

// fromByteLevel returns the bytes a byte-level token stands for, or false when the token has a
// character outside the byte-level alphabet.
func fromByteLevel(token string) (string, bool) {
	raw := make([]byte, 0, len(token))
	for _, r := range token {
		b, ok := byteOfRune[r]
		if !ok {
			return "", false
		}
		raw = append(raw, b)
	}
	return string(raw), true
}

// appendPiece appends the ids of one pre-token piece: its bytes merged by BPE, through the
// cache.
func (t *Tokenizer) appendPiece(ids []int, piece string) []int {
	if len(piece) == 1 {
		return append(ids, int(t.byteID[piece[0]]))
	}
	if cached, ok := t.cache.get(piece); ok {
		for _, id := range cached {
			ids = append(ids, int(id))
		}
		return ids
	}
	s := scratchPool.Get().(*bpeScratch)
	merged := t.bpe(s, piece)
	for _, id := range merged {
		ids = append(ids, int(id))
	}
	t.cache.put(piece, merged)
	scratchPool.Put(s)
	return ids
}

// symbol is one token of a word being merged, in a doubly linked list over the word's bytes:
// a merged symbol keeps the index of its leftmost byte.
type symbol struct {
	id         int32 // -1 once merged into the symbol on its left
	prev, next int32 // indexes of the neighbouring symbols, -1 at the ends
}

// candidate is a possible merge of the symbol at pos with its right neighbour, valid while
// those two symbols still have the ids left and right.
type candidate struct {
	rank, pos   int32
	left, right int32
	merged      int32
}

// before orders candidates: lowest rank first, leftmost first among equal ranks.
func (c candidate) before(d candidate) bool {
	return c.rank < d.rank || (c.rank == d.rank && c.pos < d.pos)
}

// bpeScratch holds the buffers of one BPE run, reused across runs through scratchPool.
type bpeScratch struct {
	symbols []symbol
	heap    []candidate
}

var scratchPool = sync.Pool{New: func() any { return new(bpeScratch) }}

// bpe merges the bytes of piece (at least two) and returns the resulting ids in a new slice.
// It always applies the lowest-ranked merge available among adjacent symbols, the leftmost
// one among equal ranks, until none is left: the classic BPE, in O(n log n) with a heap of
// candidates that are checked for staleness when popped.
func (t *Tokenizer) bpe(s *bpeScratch, piece string) []int32 {
	n := len(piece)
	s.symbols = s.symbols[:0]
	for i := range n {
		next := int32(i + 1)
		if i == n-1 {
			next = -1
		}
		s.symbols = append(s.symbols, symbol{id: t.byteID[piece[i]], prev: int32(i - 1), next: next})
	}
	s.heap = s.heap[:0]
	for i := range n - 1 {
		s.push(t, int32(i))
	}
	syms := s.symbols
	for len(s.heap) > 0 {
		c := s.pop()
		left := &syms[c.pos]
		if left.id != c.left || left.next < 0 || syms[left.next].id != c.right {
			continue // stale: one side has merged since this candidate was pushed
		}
		right := &syms[left.next]
		left.id = c.merged
		left.next = right.next
		right.id = -1
		if left.next >= 0 {
			syms[left.next].prev = c.pos
			s.push(t, c.pos)
		}
		if left.prev >= 0 {
			s.push(t, left.prev)
		}
	}
	out := make([]int32, 0, n)
	for i := int32(0); i >= 0; i = syms[i].next {
		out = append(out, syms[i].id)
	}
	return out
}

// push adds the merge of symbol pos with its right neighbour, if there is one.
func (s *bpeScratch) push(t *Tokenizer, pos int32) {
	left := s.symbols[pos].id
	right := s.symbols[s.symbols[pos].next].id
	m, ok := t.merges[mergeKey(left, right)]
	if !ok {
		return
	}
	c := candidate{rank: m.rank, pos: pos, left: left, right: right, merged: m.id}
	h := append(s.heap, c)
	i := len(h) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !h[i].before(h[parent]) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
	s.heap = h
}

// pop removes and returns the first candidate in merge order.
func (s *bpeScratch) pop() candidate {
	h := s.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		first, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h[l].before(h[first]) {
			first = l
		}
		if r < len(h) && h[r].before(h[first]) {
			first = r
		}
		if first == i {
			break
		}
		h[i], h[first] = h[first], h[i]
		i = first
	}
	s.heap = h
	return top
}

// Cache limits: pieces longer than maxCachedPiece bytes are rarely repeated and are not
// cached; a shard that reaches maxShardEntries is emptied, which bounds memory on endless
// streams of new text.
const (
	cacheShards     = 64
	maxShardEntries = 4096
	maxCachedPiece  = 256
)

// pieceCache maps pre-token pieces to their BPE ids. It is safe for concurrent use; the
// slices it returns must not be modified.
type pieceCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string][]int32
}

func (c *pieceCache) init() {
	c.seed = maphash.MakeSeed()
	for i := range c.shards {
		c.shards[i].m = make(map[string][]int32)
	}
}

func (c *pieceCache) shard(piece string) *cacheShard {
	return &c.shards[maphash.String(c.seed, piece)%cacheShards]
}

func (c *pieceCache) get(piece string) ([]int32, bool) {
	if len(piece) > maxCachedPiece {
		return nil, false
	}
	s := c.shard(piece)
	s.mu.RLock()
	ids, ok := s.m[piece]
	s.mu.RUnlock()
	return ids, ok
}

func (c *pieceCache) put(piece string, ids []int32) {
	if len(piece) > maxCachedPiece {
		return
	}
	s := c.shard(piece)
	s.mu.Lock()
	if len(s.m) >= maxShardEntries {
		s.m = make(map[string][]int32)
	}
	s.m[strings.Clone(piece)] = ids // a copy, so the cache does not pin the caller's text
	s.mu.Unlock()
}
