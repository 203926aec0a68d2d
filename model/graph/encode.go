package graph

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"ltecli/weights"
)

// The ONNX versions the encoder writes: IR version 10 (ONNX 1.16) and default-domain opset 21.
const (
	IRVersion = 10
	Opset     = 21
)

// Field numbers of onnx.proto.
const (
	modelIRVersion    = 1
	modelProducerName = 2
	modelGraph        = 7
	modelOpsetImport  = 8

	opsetDomain  = 1
	opsetVersion = 2

	graphNode        = 1
	graphName        = 2
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5

	attrName    = 1
	attrF       = 2
	attrI       = 3
	attrS       = 4
	attrT       = 5
	attrFloats  = 7
	attrInts    = 8
	attrStrings = 9
	attrType    = 20

	attrTypeFloat   = 1
	attrTypeInt     = 2
	attrTypeString  = 3
	attrTypeTensor  = 4
	attrTypeFloats  = 6
	attrTypeInts    = 7
	attrTypeStrings = 8

	tensorDims     = 1
	tensorDataType = 2
	tensorName     = 8
	tensorRawData  = 9

	valueInfoName = 1
	valueInfoType = 2

	typeTensor      = 1
	tensorElemType  = 1
	tensorShape     = 2
	shapeDim        = 1
	dimensionValue  = 1
	dimensionParam  = 2
	producerNameStr = "ltecli"
)

// Encode serializes the graph as an ONNX ModelProto. Only nodes that some output depends on
// are written; constants become initializers.
func (g *Graph) Encode() ([]byte, error) {
	if g.err != nil {
		return nil, g.err
	}
	if len(g.outputs) == 0 {
		return nil, fmt.Errorf("graph %q: %w", g.name, errNoOutputs)
	}
	var gb []byte
	var consts []*Value
	seen := map[*Value]bool{}
	for _, n := range g.liveNodes() {
		for _, in := range n.inputs {
			if in != nil && in.data != nil && !seen[in] {
				seen[in] = true
				consts = append(consts, in)
			}
		}
		b, err := encodeNode(n)
		if err != nil {
			return nil, fmt.Errorf("graph %q: %w", g.name, err)
		}
		gb = appendMessage(gb, graphNode, b)
	}
	gb = appendString(gb, graphName, g.name)
	for _, c := range consts {
		gb = appendMessage(gb, graphInitializer, encodeTensor(c.name, c.data))
	}
	for _, v := range g.inputs {
		gb = appendMessage(gb, graphInput, encodeValueInfo(v))
	}
	for _, v := range g.outputs {
		gb = appendMessage(gb, graphOutput, encodeValueInfo(v))
	}
	var mb []byte
	mb = protowire.AppendTag(mb, modelIRVersion, protowire.VarintType)
	mb = protowire.AppendVarint(mb, IRVersion)
	mb = appendString(mb, modelProducerName, producerNameStr)
	mb = appendMessage(mb, modelGraph, gb)
	var ob []byte
	ob = appendString(ob, opsetDomain, "")
	ob = protowire.AppendTag(ob, opsetVersion, protowire.VarintType)
	ob = protowire.AppendVarint(ob, Opset)
	mb = appendMessage(mb, modelOpsetImport, ob)
	return mb, nil
}

// liveNodes returns, in build order, the nodes some output depends on.
func (g *Graph) liveNodes() []*node {
	needed := map[*Value]bool{}
	for _, v := range g.outputs {
		needed[v] = true
	}
	live := make([]bool, len(g.nodes))
	for i := len(g.nodes) - 1; i >= 0; i-- {
		n := g.nodes[i]
		for _, o := range n.outputs {
			if needed[o] {
				live[i] = true
				break
			}
		}
		if live[i] {
			for _, in := range n.inputs {
				if in != nil {
					needed[in] = true
				}
			}
		}
	}
	var out []*node
	for i, n := range g.nodes {
		if live[i] {
			out = append(out, n)
		}
	}
	return out
}

func appendString(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, field protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func appendVarintField(b []byte, field protowire.Number, x uint64) []byte {
	b = protowire.AppendTag(b, field, protowire.VarintType)
	return protowire.AppendVarint(b, x)
}

func encodeNode(n *node) ([]byte, error) {
	var b []byte
	for _, in := range n.inputs {
		name := ""
		if in != nil {
			name = in.name
		}
		b = appendString(b, nodeInput, name)
	}
	for _, o := range n.outputs {
		b = appendString(b, nodeOutput, o.name)
	}
	b = appendString(b, nodeName, n.outputs[0].name)
	b = appendString(b, nodeOpType, n.op)
	keys := make([]string, 0, len(n.attrs))
	for k := range n.attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		a, err := encodeAttr(k, n.attrs[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		b = appendMessage(b, nodeAttribute, a)
	}
	return b, nil
}

func encodeAttr(name string, value any) ([]byte, error) {
	b := appendString(nil, attrName, name)
	switch v := value.(type) {
	case int64:
		b = appendVarintField(b, attrType, attrTypeInt)
		b = appendVarintField(b, attrI, uint64(v))
	case float32:
		b = appendVarintField(b, attrType, attrTypeFloat)
		b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(v))
	case string:
		b = appendVarintField(b, attrType, attrTypeString)
		b = appendString(b, attrS, v)
	case []int64:
		b = appendVarintField(b, attrType, attrTypeInts)
		for _, x := range v {
			b = appendVarintField(b, attrInts, uint64(x))
		}
	case []float32:
		b = appendVarintField(b, attrType, attrTypeFloats)
		for _, x := range v {
			b = protowire.AppendTag(b, attrFloats, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(x))
		}
	case []string:
		b = appendVarintField(b, attrType, attrTypeStrings)
		for _, s := range v {
			b = appendString(b, attrStrings, s)
		}
	case *constData:
		b = appendVarintField(b, attrType, attrTypeTensor)
		b = appendMessage(b, attrT, encodeTensor("", v))
	default:
		return nil, fmt.Errorf("attribute %q has unsupported type %T", name, value)
	}
	return b, nil
}

func encodeTensor(name string, c *constData) []byte {
	var b []byte
	for _, d := range c.shape {
		b = appendVarintField(b, tensorDims, uint64(d))
	}
	b = appendVarintField(b, tensorDataType, uint64(c.dtype))
	if name != "" {
		b = appendString(b, tensorName, name)
	}
	var raw []byte
	switch c.dtype {
	case Float32:
		for _, x := range c.f {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(x)))
		}
	case Float64:
		for _, x := range c.f {
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(x))
		}
	case Float16:
		for _, x := range c.f {
			raw = binary.LittleEndian.AppendUint16(raw, weights.Float32ToHalf(float32(x)))
		}
	case BFloat16:
		for _, x := range c.f {
			raw = binary.LittleEndian.AppendUint16(raw, weights.Float32ToBF16(float32(x)))
		}
	case Int64:
		for _, x := range c.i {
			raw = binary.LittleEndian.AppendUint64(raw, uint64(x))
		}
	case Int32:
		for _, x := range c.i {
			raw = binary.LittleEndian.AppendUint32(raw, uint32(int32(x)))
		}
	case Bool:
		for _, x := range c.i {
			raw = append(raw, byte(x&1))
		}
	}
	b = protowire.AppendTag(b, tensorRawData, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

func encodeValueInfo(v *Value) []byte {
	var shape []byte
	for _, d := range v.shape {
		var db []byte
		switch {
		case d.IsStatic():
			db = appendVarintField(db, dimensionValue, uint64(d.Size))
		case !containsUnknown(d):
			db = appendString(db, dimensionParam, d.Name)
		}
		shape = appendMessage(shape, shapeDim, db)
	}
	var tt []byte
	tt = appendVarintField(tt, tensorElemType, uint64(v.dtype))
	tt = appendMessage(tt, tensorShape, shape)
	var tp []byte
	tp = appendMessage(tp, typeTensor, tt)
	b := appendString(nil, valueInfoName, v.name)
	return appendMessage(b, valueInfoType, tp)
}

// String lists the graph as text: inputs, the live nodes in order with their attributes and
// output types, and outputs.
func (g *Graph) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %s\n", g.name)
	for _, v := range g.inputs {
		fmt.Fprintf(&b, "  input  %s\n", v)
	}
	for _, n := range g.liveNodes() {
		outs := make([]string, len(n.outputs))
		for i, o := range n.outputs {
			outs[i] = o.String()
		}
		ins := make([]string, len(n.inputs))
		for i, in := range n.inputs {
			switch {
			case in == nil:
				ins[i] = "_"
			case in.data != nil && len(in.data.shape) <= 1 && len(in.data.f)+len(in.data.i) <= 8:
				ins[i] = fmt.Sprintf("%v", append(slices.Clone(in.data.f), intsAsFloats(in.data.i)...))
			default:
				ins[i] = in.name
			}
		}
		keys := make([]string, 0, len(n.attrs))
		for k := range n.attrs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var attrs []string
		for _, k := range keys {
			attrs = append(attrs, fmt.Sprintf("%s=%v", k, n.attrs[k]))
		}
		fmt.Fprintf(&b, "  %s = %s(%s)", strings.Join(outs, ", "), n.op, strings.Join(ins, ", "))
		if len(attrs) > 0 {
			fmt.Fprintf(&b, " {%s}", strings.Join(attrs, " "))
		}
		b.WriteString("\n")
	}
	for _, v := range g.outputs {
		fmt.Fprintf(&b, "  output %s\n", v)
	}
	return b.String()
}

func intsAsFloats(xs []int64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}
