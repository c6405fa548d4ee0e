using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Quantization.Simulation;

/// <summary>
/// Writes each BfpFakeQuant node as standard ONNX operators (opset 21) so ONNX Runtime can run
/// the simulated network. Bit-exact with <see cref="DSConvService.Core.Kernels.DSConv.Reference.BfpReference"/>: the exponent
/// floor(log2 max|x|) is computed with Log and then corrected by exact powers of two.
/// </summary>
public static class BfpOnnxExpansion
{
    public static Model ToStandardOnnx(Model simulated)
    {
        var model = ModelCloner.Clone(simulated);
        OpsetUpgrade.ToOpset21(model);
        var g = model.Graph;
        var nodes = new List<Node>();
        foreach (var n in g.Nodes)
        {
            if (n.Domain == DSConvSimulation.Domain && n.OpType == DSConvSimulation.BfpFakeQuant)
            {
                nodes.AddRange(Expand(g, n));
            }
            else
            {
                nodes.Add(n);
            }
        }
        g.Nodes.Clear();
        g.Nodes.AddRange(nodes);
        model.Opsets.Remove(DSConvSimulation.Domain);
        return model;
    }

    private static List<Node> Expand(Graph.Graph g, Node bfp)
    {
        var groups = (int)bfp.GetInt("group", 1);
        var channels = (int)bfp.GetInt("channels", 0);
        if (channels <= 0)
        {
            throw new InvalidModelException($"{bfp} needs its 'channels' attribute to be written as standard ONNX.");
        }
        var b = (int)bfp.GetInt("block_size", 32);
        var m = (int)bfp.GetInt("mantissa_bits", 8);
        var eBits = (int)bfp.GetInt("exponent_bits", 8);
        var cg = channels / groups;
        var nbpg = (cg + b - 1) / b;
        var padded = nbpg * b;
        var prefix = bfp.DisplayName;
        var nodes = new List<Node>();
        var k = 0;
        string V() => g.UniqueName($"{prefix}_v{k++}");
        string C(Tensor t)
        {
            var name = g.UniqueName($"{prefix}_c{k++}");
            g.Initializers[name] = t;
            return name;
        }
        string Op(string op, params string[] inputs)
        {
            var o = V();
            nodes.Add(new Node(op, inputs, [o], o));
            return o;
        }
        string F(float v) => C(Tensor.Scalar(v));
        string L(params long[] v) => C(Tensor.FromLongs([v.Length], v));

        var x = bfp.Inputs[0];
        var shape = Op("Shape", x);
        var x4 = Op("Reshape", x, L(0, groups, cg, -1));
        if (padded > cg)
        {
            x4 = Op("Pad", x4, L(0, 0, 0, 0, 0, 0, padded - cg, 0));
        }
        var x5 = Op("Reshape", x4, L(0, groups, nbpg, b, -1));
        var amax = V();
        var reduce = new Node("ReduceMax", [Op("Abs", x5), L(3)], [amax], amax);
        reduce.Attributes["keepdims"] = AttributeValue.Of(1L);
        nodes.Add(reduce);
        var two = F(2f);
        var one = F(1f);
        var e0 = Op("Floor", Op("Div", Op("Log", amax), F(MathF.Log(2f))));
        var e1 = Op("Where", Op("Greater", Op("Pow", two, e0), amax), Op("Sub", e0, one), e0);
        var e1p = Op("Add", e1, one);
        var e2 = Op("Where", Op("LessOrEqual", Op("Pow", two, e1p), amax), e1p, e1);
        var e = Op("Clip", e2, F(-(1 << (eBits - 1))), F((1 << (eBits - 1)) - 1));
        var scale = Op("Pow", two, Op("Sub", F(m - 2), e));
        var mant = Op("Clip", Op("Round", Op("Mul", x5, scale)), F(-(1 << (m - 1))), F((1 << (m - 1)) - 1));
        // An all-zero block at the lowest exponent overflows the scale (0·inf): its mantissas are 0.
        mant = Op("Where", Op("IsNaN", mant), F(0f), mant);
        var y5 = Op("Mul", mant, Op("Pow", two, Op("Sub", e, F(m - 2))));
        var y4 = Op("Reshape", y5, L(0, groups, padded, -1));
        if (padded > cg)
        {
            y4 = Op("Slice", y4, L(0), L(cg), L(2));
        }
        nodes.Add(new Node("Reshape", [y4, shape], [bfp.Outputs[0]], prefix + "_restore"));
        return nodes;
    }
}
