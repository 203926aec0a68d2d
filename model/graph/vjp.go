package graph

import (
	"errors"
	"fmt"
	"slices"
)

// VJPOptions tunes VJP.
type VJPOptions struct {
	// Outputs lists the forward outputs that receive a cotangent; empty means every float
	// output. Outputs left out are treated as having a zero cotangent.
	Outputs []string
	// Name names the backward graph; empty means the forward graph's name + "_vjp".
	Name string
	// Accumulate lists wrt inputs (all of them, or some: parameters, not activations) whose
	// gradient accumulates: the backward graph takes, after the cotangents, one input per listed
	// X, in wrt order, named AccumulatorPrefix+"d_"+X and typed like X, and makes d_X that
	// accumulator plus the gradient. Gradients of several batches then add up without a
	// separate step, and an embedding's scatter-add goes straight into the accumulator (no
	// zeros are made for it). The accumulator and d_X must be different buffers (ONNX Runtime
	// does not run in place).
	Accumulate []string
}

// AccumulatorPrefix starts the names of the accumulator inputs of VJPOptions.Accumulate.
const AccumulatorPrefix = "acc_"

// VJP builds the vector-Jacobian product of fwd as a new graph.
//
// Its inputs are fwd's inputs (same names, order and types) followed by one cotangent per
// differentiated output, named "d_"+output and typed like it (and one accumulator per input
// opts.Accumulate lists). Its outputs are the gradients of the wrt inputs, named
// "d_"+input, in wrt order: sum over outputs of cotangent · ∂output/∂input. The gradient of a
// Gather along axis 0 (an embedding lookup) is a scatter-add into the sum of the table's other
// gradient contributions (a tied LM head's), else into the accumulator, else into zeros.
// Forward activations that the gradient needs are recomputed inside the backward graph; values
// used several times get summed gradients; broadcasting is undone by summation; integer, bool
// and constant paths carry no gradient; nodes no output needs are left out of the encoding. A
// wrt input that no differentiated output depends on gets zeros. An op on the differentiated
// path without a gradient rule is an error that names it.
func VJP(fwd *Graph, wrt []string, opts VJPOptions) (*Graph, error) {
	if fwd == nil {
		return nil, errors.New("VJP: nil forward graph")
	}
	if fwd.err != nil {
		return nil, fmt.Errorf("VJP: %w", fwd.err)
	}
	name := opts.Name
	if name == "" {
		name = fwd.name + "_vjp"
	}
	b := &vjp{
		fwd:      fwd,
		bwd:      New(name),
		copies:   map[*Value]*Value{},
		active:   map[*Value]bool{},
		grads:    map[*Value][]*Value{},
		scatters: map[*Value][]scatterAdd{},
	}
	b.bwd.outer = func(dim string) (*Value, int, bool) {
		src, ok := fwd.dimSrc[dim]
		if !ok {
			return nil, 0, false
		}
		return b.val(src.v), src.axis, true
	}
	for _, in := range fwd.inputs {
		b.copies[in] = b.bwd.Input(in.name, in.dtype, in.shape...)
	}

	var targets []*Value
	for _, w := range wrt {
		i := slices.IndexFunc(fwd.inputs, func(v *Value) bool { return v.name == w })
		switch {
		case i < 0:
			return nil, fmt.Errorf("VJP of graph %q: %q is not an input (inputs: %v)", fwd.name, w, fwd.InputNames())
		case !fwd.inputs[i].dtype.IsFloat():
			return nil, fmt.Errorf("VJP of graph %q: input %s is not a float, so it has no gradient", fwd.name, fwd.inputs[i])
		case b.active[fwd.inputs[i]]:
			return nil, fmt.Errorf("VJP of graph %q: input %q is listed twice in wrt", fwd.name, w)
		}
		b.active[fwd.inputs[i]] = true
		targets = append(targets, fwd.inputs[i])
	}

	outs, err := differentiatedOutputs(fwd, opts.Outputs)
	if err != nil {
		return nil, err
	}
	for _, o := range outs {
		b.grads[o] = []*Value{b.bwd.Input("d_"+o.name, o.dtype, o.shape...)}
	}
	for _, a := range opts.Accumulate {
		if !slices.Contains(wrt, a) {
			return nil, fmt.Errorf("VJP of graph %q: accumulated %q is not in wrt %v", fwd.name, a, wrt)
		}
	}
	accumulators := map[*Value]*Value{}
	for _, t := range targets {
		if slices.Contains(opts.Accumulate, t.name) {
			accumulators[t] = b.bwd.Input(AccumulatorPrefix+"d_"+t.name, t.dtype, t.shape...)
		}
	}
	if b.bwd.err != nil {
		return nil, fmt.Errorf("VJP: cotangent and accumulator inputs: %w", b.bwd.err)
	}

	for _, n := range fwd.nodes {
		if slices.ContainsFunc(n.inputs, func(in *Value) bool { return in != nil && b.active[in] }) {
			for _, o := range n.outputs {
				if o.dtype.IsFloat() {
					b.active[o] = true
				}
			}
		}
	}

	for i := len(fwd.nodes) - 1; i >= 0; i-- {
		if err := b.backprop(fwd.nodes[i]); err != nil {
			return nil, err
		}
	}

	for _, t := range targets {
		grad := b.total(t, accumulators[t])
		if grad == nil {
			grad = b.bwd.zeros(t.dtype, t.shape)
		}
		b.bwd.Output("d_"+t.name, grad)
	}
	if b.bwd.err != nil {
		return nil, fmt.Errorf("VJP: %w", b.bwd.err)
	}
	return b.bwd, nil
}

func differentiatedOutputs(fwd *Graph, names []string) ([]*Value, error) {
	if len(names) == 0 {
		var outs []*Value
		for _, o := range fwd.outputs {
			if o.dtype.IsFloat() {
				outs = append(outs, o)
			}
		}
		return outs, nil
	}
	var outs []*Value
	for _, name := range names {
		i := slices.IndexFunc(fwd.outputs, func(v *Value) bool { return v.name == name })
		switch {
		case i < 0:
			return nil, fmt.Errorf("VJP of graph %q: %q is not an output (outputs: %v)", fwd.name, name, fwd.OutputNames())
		case !fwd.outputs[i].dtype.IsFloat():
			return nil, fmt.Errorf("VJP of graph %q: output %s is not a float, so it takes no cotangent", fwd.name, fwd.outputs[i])
		case slices.Contains(outs, fwd.outputs[i]):
			return nil, fmt.Errorf("VJP of graph %q: output %q is listed twice", fwd.name, name)
		}
		outs = append(outs, fwd.outputs[i])
	}
	return outs, nil
}

// vjp is the state of one backward-graph construction.
type vjp struct {
	fwd, bwd *Graph
	copies   map[*Value]*Value       // forward value -> its value in the backward graph
	active   map[*Value]bool         // forward float values that depend on a wrt input
	grads    map[*Value][]*Value     // forward value -> gradient contributions so far
	scatters map[*Value][]scatterAdd // forward value -> scatter-adds still to apply
}

// scatterAdd is a gradient contribution that adds the rows of updates [N, cols] at the row
// numbers ids [N, cols] (expanded) of a value seen as [rows, cols]. It is applied last, onto
// the value's other contributions, so that it needs no tensor of zeros when there are some.
type scatterAdd struct {
	ids, updates *Value
	rows, cols   Dim
}

// total is v's gradient: base (may be nil) plus its contributions, then its scatter-adds;
// nil when there is nothing.
func (b *vjp) total(v *Value, base *Value) *Value {
	parts := b.grads[v]
	if base != nil {
		parts = append([]*Value{base}, parts...)
	}
	var sum *Value
	if len(parts) > 0 {
		sum = b.sum(parts)
	}
	scs := b.scatters[v]
	if len(scs) == 0 {
		return sum
	}
	g := b.bwd
	flat := []Dim{scs[0].rows, scs[0].cols}
	if sum == nil {
		sum = g.zeros(v.dtype, flat)
	} else {
		sum = g.ReshapeTo(sum, g.shapeTensor(flat))
	}
	for _, sc := range scs {
		sum = g.add1("ScatterElements", []*Value{sum, sc.ids, sc.updates}, map[string]any{"axis": int64(0), "reduction": "add"}, v.dtype, flat, nil)
	}
	return g.ReshapeTo(sum, g.shapeTensor(v.shape))
}

// backprop applies n's gradient rule when gradients reach it.
func (b *vjp) backprop(n *node) error {
	dys := make([]*Value, len(n.outputs))
	reached := false
	for j, o := range n.outputs {
		if b.active[o] {
			if d := b.total(o, nil); d != nil {
				dys[j] = d
				reached = true
			}
		}
		delete(b.grads, o)
		delete(b.scatters, o)
	}
	if !reached {
		return nil
	}
	r := rules[n.op]
	if r == nil {
		return fmt.Errorf("VJP of graph %q: no gradient rule for op %s (%s) on the differentiated path; write it with differentiable ops or add a rule to model/graph", b.fwd.name, n.op, n)
	}
	c := &ruleCtx{vjp: b, n: n, g: b.bwd, dy: dys}
	dxs, err := r(c)
	if err == nil && b.bwd.err != nil {
		err = b.bwd.err
	}
	if err != nil {
		return fmt.Errorf("VJP of graph %q, gradient of %s: %w", b.fwd.name, n, err)
	}
	for i, dx := range dxs {
		if dx == nil || i >= len(n.inputs) || n.inputs[i] == nil || !b.active[n.inputs[i]] {
			continue
		}
		in := n.inputs[i]
		if err := b.accumulate(in, dx); err != nil {
			return fmt.Errorf("VJP of graph %q, gradient of %s input %d: %w", b.fwd.name, n, i, err)
		}
	}
	return nil
}

// accumulate records a gradient contribution for v, checking its type.
func (b *vjp) accumulate(v, dx *Value) error {
	if dx.dtype != v.dtype || dx.Rank() != v.Rank() {
		return fmt.Errorf("rule gave %s for %s", dx, v)
	}
	if !slices.Equal(dx.shape, v.shape) {
		for i, d := range dx.shape {
			if d != v.shape[i] && !containsUnknown(d) && !containsUnknown(v.shape[i]) {
				return fmt.Errorf("rule gave %s for %s", dx, v)
			}
		}
		dx = b.bwd.add1("Identity", []*Value{dx}, nil, dx.dtype, v.shape, nil)
	}
	b.grads[v] = append(b.grads[v], dx)
	return nil
}

// sum adds gradient contributions.
func (b *vjp) sum(gs []*Value) *Value {
	switch len(gs) {
	case 1:
		return gs[0]
	case 2:
		return b.bwd.Add(gs[0], gs[1])
	}
	return b.bwd.add1("Sum", slices.Clone(gs), nil, gs[0].dtype, gs[0].shape, nil)
}

// val returns the backward-graph copy of a forward value, recomputing its producer (and,
// recursively, what that needs) on first use.
func (b *vjp) val(v *Value) *Value {
	if c, ok := b.copies[v]; ok {
		return c
	}
	if v.data != nil {
		c := b.bwd.constant(v.data)
		b.copies[v] = c
		return c
	}
	n := v.node
	inputs := make([]*Value, len(n.inputs))
	for i, in := range n.inputs {
		if in != nil {
			inputs[i] = b.val(in)
		}
	}
	outs := make([]spec, len(n.outputs))
	for i, o := range n.outputs {
		outs[i] = spec{dt: o.dtype, shape: o.shape, known: o.known}
	}
	for i, c := range b.bwd.add(n.op, inputs, n.attrs, outs...) {
		b.copies[n.outputs[i]] = c
	}
	return b.copies[v]
}
