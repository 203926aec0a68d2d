package qwen3

import (
	"ltecli/ort"
)

// cacheSlack is the room a prefilled cache keeps for decoded positions before it doubles.
const cacheSlack = 64

// prefill runs the layer loop on a left-padded batch, filling a KV cache, and returns the
// last position's logits.
func (m *Model) prefill(b Batch) ([]float32, *KVCache, error) {
	B, T, H := b.B, b.T, m.Config.HiddenSize
	x, err := m.embed(b.IDs, int64(B), int64(T), int64(H))
	if err != nil {
		return nil, nil, err
	}
	positions := ort.I64Tensor(positionsOf(b.Mask, B, T), int64(B), int64(T))
	cache := m.newCache(B, T+cacheSlack)
	cache.P = T
	for l := 0; l < m.Config.NumHiddenLayers; l++ {
		q, k, v, err := m.layerQKV(l, x, positions)
		if err != nil {
			return nil, nil, err
		}
		putAxis2(cache.keys(m, l), 0, k, false)
		putAxis2(cache.values(m, l), 0, v, false)
		attn, err := m.attention(q, k, v, b.Mask, 0)
		if err != nil {
			return nil, nil, err
		}
		if x, err = m.layerOut(l, x, attn); err != nil {
			return nil, nil, err
		}
	}
	last := make([]int, B)
	for r := range last {
		last[r] = r*T + T - 1
	}
	logits, err := m.logits(gatherRows(x, last, H))
	return logits, cache, err
}

// decode appends one token per row to the cache and returns its logits.
func (m *Model) decode(ids, mask []int64, cache *KVCache) ([]float32, *KVCache, error) {
	B, P, H := cache.B, cache.P, m.Config.HiddenSize
	if P+1 > cache.Cap {
		cache = cache.grow(m, 2*cache.Cap)
	}
	x, err := m.embed(ids, int64(B), 1, int64(H))
	if err != nil {
		return nil, nil, err
	}
	pos := make([]int64, B)
	keyMask := make([]int64, B*cache.Cap) // real keys of the filled positions, 0 past them
	for r := 0; r < B; r++ {
		for t, v := range mask[r*(P+1) : (r+1)*(P+1)] {
			pos[r] += v
			keyMask[r*cache.Cap+t] = v
		}
		pos[r]--
	}
	positions := ort.I64Tensor(pos, int64(B), 1)
	for l := 0; l < m.Config.NumHiddenLayers; l++ {
		q, k, v, err := m.layerQKV(l, x, positions)
		if err != nil {
			return nil, nil, err
		}
		keys, values := cache.keys(m, l), cache.values(m, l)
		putAxis2(keys, P, k, false)
		putAxis2(values, P, v, false)
		attn, err := m.attention(q, keys, values, keyMask, P)
		if err != nil {
			return nil, nil, err
		}
		if x, err = m.layerOut(l, x, attn); err != nil {
			return nil, nil, err
		}
	}
	cache.P = P + 1
	rows := make([]int, B)
	for r := range rows {
		rows[r] = r
	}
	logits, err := m.logits(gatherRows(x, rows, H))
	return logits, cache, err
}

// logits runs the final norm and LM head on h [N, H].
func (m *Model) logits(h *ort.Tensor) ([]float32, error) {
	N := h.Shape[0]
	out := ort.F32Tensor(make([]float32, int(N)*m.Config.VocabSize), N, int64(m.Config.VocabSize))
	got, err := m.run(GraphLogits, append([]*ort.Tensor{h}, m.headParams()...), []*ort.Tensor{out})
	if err != nil {
		return nil, err
	}
	return got[0].F32, nil
}

func (m *Model) newCache(B, capacity int) *KVCache {
	n := B * m.Config.NumKeyValueHeads * capacity * m.Config.HeadDim
	c := &KVCache{K: make([][]float32, m.Config.NumHiddenLayers), V: make([][]float32, m.Config.NumHiddenLayers), B: B, Cap: capacity}
	for l := range c.K {
		c.K[l] = make([]float32, n)
		c.V[l] = make([]float32, n)
	}
	return c
}

// grow returns a cache of the given capacity holding c's positions.
func (c *KVCache) grow(m *Model, capacity int) *KVCache {
	out := m.newCache(c.B, capacity)
	out.P = c.P
	for l := range c.K {
		putAxis2(out.keys(m, l), 0, sliceAxis2(c.keys(m, l), 0, c.P), false)
		putAxis2(out.values(m, l), 0, sliceAxis2(c.values(m, l), 0, c.P), false)
	}
	return out
}

func (c *KVCache) keys(m *Model, l int) *ort.Tensor {
	return ort.F32Tensor(c.K[l], int64(c.B), int64(m.Config.NumKeyValueHeads), int64(c.Cap), int64(m.Config.HeadDim))
}

func (c *KVCache) values(m *Model, l int) *ort.Tensor {
	return ort.F32Tensor(c.V[l], int64(c.B), int64(m.Config.NumKeyValueHeads), int64(c.Cap), int64(m.Config.HeadDim))
}
