package qwen3

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"ltecli/weights"
)

// Tensor names follow the Hugging Face checkpoint, so a Store saves as a loadable checkpoint.
const (
	EmbedName     = "model.embed_tokens.weight" // [V, H]
	FinalNormName = "model.norm.weight"         // [H]
	LMHeadName    = "lm_head.weight"            // [V, H], absent when tied
)

// LayerNames are the parameter names of decoder layer i.
type LayerNames struct {
	InputNorm string // [H]
	Q, K, V   string // [heads*D, H], [kv*D, H], [kv*D, H]
	O         string // [H, heads*D]
	QNorm     string // [D]
	KNorm     string // [D]
	PostNorm  string // [H]
	Gate, Up  string // [I, H]
	Down      string // [H, I]
}

// Layer returns the parameter names of layer i.
func Layer(i int) LayerNames {
	p := fmt.Sprintf("model.layers.%d.", i)
	return LayerNames{
		InputNorm: p + "input_layernorm.weight",
		Q:         p + "self_attn.q_proj.weight",
		K:         p + "self_attn.k_proj.weight",
		V:         p + "self_attn.v_proj.weight",
		O:         p + "self_attn.o_proj.weight",
		QNorm:     p + "self_attn.q_norm.weight",
		KNorm:     p + "self_attn.k_norm.weight",
		PostNorm:  p + "post_attention_layernorm.weight",
		Gate:      p + "mlp.gate_proj.weight",
		Up:        p + "mlp.up_proj.weight",
		Down:      p + "mlp.down_proj.weight",
	}
}

// ParamSpecs is the parameter layout of a model: names and shapes in checkpoint order
// (embeddings, layers, final norm, then lm_head when untied). Weight matrices are stored
// [out, in] as in PyTorch's nn.Linear.
func (c Config) ParamSpecs() []weights.Spec {
	H, I, V, D := int64(c.HiddenSize), int64(c.IntermediateSize), int64(c.VocabSize), int64(c.HeadDim)
	q, kv := int64(c.NumAttentionHeads)*D, int64(c.NumKeyValueHeads)*D
	specs := []weights.Spec{{Name: EmbedName, Shape: []int64{V, H}}}
	for i := 0; i < c.NumHiddenLayers; i++ {
		l := Layer(i)
		specs = append(specs,
			weights.Spec{Name: l.InputNorm, Shape: []int64{H}},
			weights.Spec{Name: l.Q, Shape: []int64{q, H}},
			weights.Spec{Name: l.K, Shape: []int64{kv, H}},
			weights.Spec{Name: l.V, Shape: []int64{kv, H}},
			weights.Spec{Name: l.O, Shape: []int64{H, q}},
			weights.Spec{Name: l.QNorm, Shape: []int64{D}},
			weights.Spec{Name: l.KNorm, Shape: []int64{D}},
			weights.Spec{Name: l.PostNorm, Shape: []int64{H}},
			weights.Spec{Name: l.Gate, Shape: []int64{I, H}},
			weights.Spec{Name: l.Up, Shape: []int64{I, H}},
			weights.Spec{Name: l.Down, Shape: []int64{H, I}},
		)
	}
	specs = append(specs, weights.Spec{Name: FinalNormName, Shape: []int64{H}})
	if !c.TieWordEmbeddings {
		specs = append(specs, weights.Spec{Name: LMHeadName, Shape: []int64{V, H}})
	}
	return specs
}

// LoadParams reads a checkpoint's parameters into a flat fp32 store with c's layout,
// converting bf16/fp16. A tied model ignores a stored lm_head.weight; an untied one requires it.
// Every tensor's name and shape is checked against the config before anything is allocated:
// a missing tensor, a shape the config does not give, or a tensor the config does not use
// (a 3-layer checkpoint read with num_hidden_layers 1) is an error.
func LoadParams(c Config, ckpt *weights.Checkpoint) (*weights.Store, error) {
	specs := c.ParamSpecs()
	want := make(map[string]bool, len(specs))
	for _, s := range specs {
		info, ok := ckpt.Info(s.Name)
		if !ok {
			return nil, fmt.Errorf("checkpoint %s has no tensor %q (config.json describes a model the checkpoint does not hold)", ckpt.Dir, s.Name)
		}
		if !slices.Equal(info.Shape, s.Shape) {
			return nil, fmt.Errorf("checkpoint %s: tensor %q has shape %v, config says %v", ckpt.Dir, s.Name, info.Shape, s.Shape)
		}
		want[s.Name] = true
	}
	var unused []string
	for _, t := range ckpt.Tensors() {
		if !want[t.Name] && !ignorable(c, t.Name) {
			unused = append(unused, t.Name)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		shown := unused[:min(len(unused), 3)]
		more := ""
		if len(unused) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(unused)-len(shown))
		}
		return nil, fmt.Errorf("checkpoint %s holds %d tensors its config.json does not use (%s%s): config.json (num_hidden_layers %d) does not match the weights",
			ckpt.Dir, len(unused), strings.Join(shown, ", "), more, c.NumHiddenLayers)
	}
	store, err := weights.NewStore(specs)
	if err != nil {
		return nil, err
	}
	for _, v := range store.Views {
		if err := ckpt.ReadFloat32(v.Name, store.Slice(v)); err != nil {
			return nil, err
		}
	}
	return store, nil
}

// ignorable reports whether a stored tensor that is not a parameter carries nothing the
// model needs: lm_head.weight of a tied model (a copy of the embeddings) and the rotary
// inverse frequencies some exporters save.
func ignorable(c Config, name string) bool {
	return (name == LMHeadName && c.TieWordEmbeddings) || strings.HasSuffix(name, ".rotary_emb.inv_freq")
}
