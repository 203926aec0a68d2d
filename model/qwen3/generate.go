package qwen3

import (
	"fmt"
	"slices"

	"ltecli/ort"
)

// prefill runs the layer loop on a left-padded batch, keeping every layer's keys and values
// as the KV cache, and returns the last position's logits.
func (m *Model) prefill(b Batch) ([]float32, *KVCache, error) {
	sc := &scope{}
	defer sc.close()
	p, err := m.params()
	if err != nil {
		return nil, nil, err
	}
	B, T, H := b.B, b.T, m.Config.HiddenSize
	x0, err := m.embed(b.IDs, int64(B), int64(T), int64(H))
	if err != nil {
		return nil, nil, err
	}
	in, err := m.uploadAll(sc, x0, ort.I64Tensor(positionsOf(b.Mask, B, T), int64(B), int64(T)))
	if err != nil {
		return nil, nil, err
	}
	x, positions := in[0], in[1]
	cache := m.newCache(B, T)
	for l := 0; l < m.Config.NumHiddenLayers; l++ {
		ls := &scope{}
		q, k, v, err := m.layerQKV(ls, p, l, x, positions)
		if err == nil {
			cache.K[l], cache.V[l] = k, v // the cache owns them from here
			*ls = (*ls)[:len(*ls)-2]
			var attn *ort.Value
			if attn, err = m.attention(ls, q, k, v, b.Mask); err == nil {
				x, err = m.layerOut(sc, p, l, x, attn)
			}
		}
		ls.close()
		if err != nil {
			cache.Close()
			return nil, nil, fmt.Errorf("layer %d: %w", l, err)
		}
	}
	last := make([]int, B)
	for r := range last {
		last[r] = r*T + T - 1
	}
	logits, err := m.logits(sc, p, x, last)
	if err != nil {
		cache.Close()
		return nil, nil, err
	}
	return logits, cache, nil
}

// decode appends one token per row to the cache and returns its logits. The cache's values
// are replaced by the grown ones (and closed).
func (m *Model) decode(ids, mask []int64, cache *KVCache) ([]float32, *KVCache, error) {
	sc := &scope{}
	defer sc.close()
	p, err := m.params()
	if err != nil {
		return nil, nil, err
	}
	B, P, H := cache.B, cache.P, m.Config.HiddenSize
	if P+1 > cache.Cap {
		if err := cache.grow(max(2*cache.Cap, P+1)); err != nil {
			return nil, nil, err
		}
	}
	x0, err := m.embed(ids, int64(B), 1, int64(H))
	if err != nil {
		return nil, nil, err
	}
	pos := make([]int64, B)
	keyMask := make([]int64, B*cache.Cap) // the real keys among the filled positions, 0 past them
	for r := 0; r < B; r++ {
		for t, v := range mask[r*(P+1) : (r+1)*(P+1)] {
			pos[r] += v
			keyMask[r*cache.Cap+t] = v
		}
		pos[r]--
	}
	keyIndex := queryIndex(0, cache.Cap)
	in, err := m.uploadAll(sc, x0, ort.I64Tensor(pos, int64(B), 1), ort.I64Tensor(keyMask, int64(B), int64(cache.Cap)),
		ort.I64Tensor([]int64{int64(P)}), keyIndex)
	if err != nil {
		return nil, nil, err
	}
	x, positions, keys, slot, index := in[0], in[1], in[2], in[3], in[4]
	for l := 0; l < m.Config.NumHiddenLayers; l++ {
		ls := &scope{}
		var got []*ort.Value
		if m.opts.SplitLayers {
			var q, k, v *ort.Value
			if q, k, v, err = m.layerQKV(ls, p, l, x, positions); err == nil {
				if got, err = m.run(ls, GraphAttentionStep, []*ort.Value{q, cache.K[l], cache.V[l], k, v, keys, slot}, nil); err == nil {
					var y *ort.Value
					if y, err = m.layerOut(ls, p, l, x, got[0]); err == nil {
						got[0] = y
					}
				}
			}
		} else {
			in := append([]*ort.Value{x, positions, cache.K[l], cache.V[l], keys, index, slot}, p.layer(l, wholeParams)...)
			got, err = m.run(ls, GraphLayerStep, in, nil)
		}
		if err == nil {
			// got: the layer's output and the written cache, owned from here by sc and the cache.
			cache.K[l].Close()
			cache.V[l].Close()
			cache.K[l], cache.V[l], x = got[1], got[2], got[0]
			ls.drop(got...)
			sc.add(x)
		}
		ls.close()
		if err != nil {
			return nil, nil, fmt.Errorf("layer %d: %w", l, err)
		}
	}
	cache.P = P + 1
	logits, err := m.logits(sc, p, x, identity(B))
	return logits, cache, err
}

// logits runs the final norm and LM head on rows of x [B, T, H] and returns [len(rows), V].
func (m *Model) logits(sc *scope, p *deviceStore, x *ort.Value, rows []int) ([]float32, error) {
	h, err := m.lastRows(sc, x, rows)
	if err != nil {
		return nil, err
	}
	got, err := m.run(sc, GraphLogits, []*ort.Value{h, p.views[FinalNormName], p.views[m.headWeight()]}, nil)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(rows)*m.Config.VocabSize)
	return out, got[0].CopyTo(ort.F32Tensor(out, int64(len(out))))
}

// lastRows returns rows of x [B, T, H] as [len(rows), H] on the device: a view when they are
// all of x in order (decoding: T is 1), else gathered on the host.
func (m *Model) lastRows(sc *scope, x *ort.Value, rows []int) (*ort.Value, error) {
	H := m.Config.HiddenSize
	if n := x.NumElements() / H; n == len(rows) && slices.Equal(rows, identity(n)) {
		h, err := x.Reshaped(int64(n), int64(H))
		if err != nil {
			return nil, err
		}
		sc.add(h)
		return h, nil
	}
	hx, err := host(x)
	if err != nil {
		return nil, err
	}
	return m.upload(sc, gatherRows(hx, rows, H))
}

// identity returns 0, 1, ..., n-1.
func identity(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func (m *Model) newCache(B, capacity int) *KVCache {
	return &KVCache{m: m, K: make([]*ort.Value, m.Config.NumHiddenLayers), V: make([]*ort.Value, m.Config.NumHiddenLayers), B: B, P: capacity, Cap: capacity}
}

// grow enlarges the cache's capacity (positions past P are zeros).
func (c *KVCache) grow(capacity int) error {
	m := c.m
	extra, err := m.dev.Zeros(m.floatType(), int64(c.B), int64(m.Config.NumKeyValueHeads), int64(capacity-c.Cap), int64(m.Config.HeadDim))
	if err != nil {
		return err
	}
	defer extra.Close()
	for _, vals := range [][]*ort.Value{c.K, c.V} {
		for l, v := range vals {
			sc := &scope{}
			got, err := m.run(sc, GraphKVGrow, []*ort.Value{v, extra}, nil)
			if err != nil {
				return err
			}
			v.Close()
			vals[l] = got[0]
		}
	}
	c.Cap = capacity
	return nil
}

// KVCache holds each layer's keys and values on the model's device, [B, kv_heads, Cap, D], of
// which the first P positions are filled; room past P lets decode append a position without
// reallocating (the capacity doubles when full). Close releases it.
type KVCache struct {
	m    *Model
	K, V []*ort.Value
	B, P int
	Cap  int
}

// SelectRows returns a cache holding rows idx of c, in that order (rows may repeat), used to
// share a prompt's cache among its samples and to drop finished rows. c stays valid.
func (c *KVCache) SelectRows(idx []int) (*KVCache, error) {
	m := c.m
	out := &KVCache{m: m, K: make([]*ort.Value, len(c.K)), V: make([]*ort.Value, len(c.V)), B: len(idx), P: c.P, Cap: c.Cap}
	rows := make([]int64, len(idx))
	for i, r := range idx {
		if r < 0 || r >= c.B {
			return nil, fmt.Errorf("kv cache: row %d of %d", r, c.B)
		}
		rows[i] = int64(r)
	}
	sc := &scope{}
	defer sc.close()
	sel, err := m.upload(sc, ort.I64Tensor(rows, int64(len(rows))))
	if err != nil {
		return nil, err
	}
	for l := range c.K {
		var kept scope
		got, err := m.run(&kept, GraphKVRows, []*ort.Value{c.K[l], sel}, nil)
		if err == nil {
			out.K[l] = got[0]
			got, err = m.run(&kept, GraphKVRows, []*ort.Value{c.V[l], sel}, nil)
			if err == nil {
				out.V[l] = got[0]
			}
		}
		if err != nil {
			out.Close()
			return nil, fmt.Errorf("kv cache: %w", err)
		}
	}
	return out, nil
}

// Close releases the cache's memory. Closing twice does nothing.
func (c *KVCache) Close() {
	if c == nil {
		return
	}
	for l := range c.K {
		c.K[l].Close()
		c.V[l].Close()
	}
}
