using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Quantization;

/// <summary>A Conv or FC layer whose constant weight can be quantized, in the [O, C, S] view.</summary>
internal sealed class LayerCandidate
{
    public required Node Node { get; init; }
    public required bool FullyConnected { get; init; }

    private readonly Func<float[]> _source = null!;
    private Lazy<float[]> _weight = null!;

    /// <summary>Weight as [O, C, S]: conv [O, Cg, kh·kw]; FC [Nout, K, 1] (alpha folded in, transposed when needed).</summary>
    public float[] Weight => _weight.Value;

    /// <summary>Computes <see cref="Weight"/> on first use: finding the layers of a model must not read its weights.</summary>
    public required Func<float[]> WeightSource
    {
        init
        {
            _source = value;
            _weight = new Lazy<float[]>(value);
        }
    }

    /// <summary>
    /// Forgets the weight read so far; the next use of <see cref="Weight"/> reads it again from the model (the file,
    /// for a deferred tensor). The quantizer calls it when a layer is done, so only one layer's fp32 weight is alive at a time.
    /// </summary>
    public void ReleaseWeight()
    {
        if (_weight.IsValueCreated)
        {
            _weight = new Lazy<float[]>(_source);
        }
    }

    /// <summary>Shape of Q: [O, Cg, kh, kw] or [Nout, K].</summary>
    public required int[] WeightShape { get; init; }

    /// <summary>Elements of the weight (known without reading it).</summary>
    public long WeightElements => WeightShape.Aggregate(1L, (a, d) => a * d);

    public float[]? Bias { get; init; }
    public int Groups { get; init; } = 1;
    public Dictionary<string, AttributeValue> ConvAttributes { get; } = new(StringComparer.Ordinal);

    public int OutChannels => WeightShape[0];
    public int Channels => WeightShape[1];
    public int Spatial => WeightShape.Length == 4 ? WeightShape[2] * WeightShape[3] : 1;
    public bool Depthwise => !FullyConnected && Channels == 1;

    /// <summary>Finds whether a node is a quantizable layer; null with a reason when it is a Conv/FC that must stay float.</summary>
    public static LayerCandidate? TryCreate(Graph.Graph g, Node n, Dictionary<string, int> knownRanks, out string? skipReason)
    {
        skipReason = null;
        if (n.Domain is not ("" or "ai.onnx"))
        {
            return null;
        }
        return n.OpType switch
        {
            "Conv" => FromConv(g, n, out skipReason),
            "Gemm" => FromGemm(g, n, out skipReason),
            "MatMul" => FromMatMul(g, n, knownRanks, out skipReason),
            _ => null,
        };
    }

    private static LayerCandidate? FromConv(Graph.Graph g, Node n, out string? reason)
    {
        reason = null;
        if (n.Input(1) is not { } wName || !g.Initializers.TryGetValue(wName, out var w) || !w.Type.IsFloat())
        {
            reason = "weight is not a constant";
            return null;
        }
        if (w.Rank != 4)
        {
            reason = $"{w.Rank - 2}-D convolution (only 2-D is quantized)";
            return null;
        }
        float[]? bias = null;
        if (n.Input(2) is { } bName)
        {
            if (!g.Initializers.TryGetValue(bName, out var b))
            {
                reason = "bias is not a constant";
                return null;
            }
            bias = b.ToFloats();
        }
        var autoPad = n.GetString("auto_pad", "NOTSET");
        if (autoPad is not ("NOTSET" or "VALID"))
        {
            reason = $"auto_pad {autoPad} (explicit pads needed)";
            return null;
        }
        var s = w.Shape;
        var c = new LayerCandidate
        {
            Node = n,
            FullyConnected = false,
            WeightSource = w.ToFloatsUncached,
            WeightShape = (int[])s.Clone(),
            Bias = bias,
            Groups = (int)n.GetInt("group", 1),
        };
        c.ConvAttributes["group"] = AttributeValue.Of((long)c.Groups);
        c.ConvAttributes["kernel_shape"] = AttributeValue.Of(new long[] { s[2], s[3] });
        c.ConvAttributes["strides"] = AttributeValue.Of(n.GetInts("strides") ?? [1, 1]);
        c.ConvAttributes["dilations"] = AttributeValue.Of(n.GetInts("dilations") ?? [1, 1]);
        c.ConvAttributes["pads"] = AttributeValue.Of(autoPad == "VALID" ? [0, 0, 0, 0] : n.GetInts("pads") ?? [0, 0, 0, 0]);
        return c;
    }

    private static LayerCandidate? FromGemm(Graph.Graph g, Node n, out string? reason)
    {
        reason = null;
        if (n.GetInt("transA", 0) != 0)
        {
            reason = "Gemm with transA = 1";
            return null;
        }
        if (n.Input(1) is not { } bName || !g.Initializers.TryGetValue(bName, out var b) || b.Rank != 2 || !b.Type.IsFloat())
        {
            reason = "weight is not a constant 2-D tensor";
            return null;
        }
        var transB = n.GetInt("transB", 0) != 0;
        var alpha = n.GetFloat("alpha", 1f);
        var beta = n.GetFloat("beta", 1f);
        var nOut = transB ? b.Shape[0] : b.Shape[1];
        var k = transB ? b.Shape[1] : b.Shape[0];
        float[]? bias = null;
        if (n.Input(2) is { } cName)
        {
            if (!g.Initializers.TryGetValue(cName, out var cT) || (cT.Length != nOut && cT.Length != 1))
            {
                reason = "bias is not a constant of one value per output";
                return null;
            }
            var cv = cT.ToFloats();
            bias = new float[nOut];
            for (var i = 0; i < nOut; i++)
            {
                bias[i] = beta * cv[cv.Length == 1 ? 0 : i];
            }
        }
        return new LayerCandidate
        {
            Node = n,
            FullyConnected = true,
            WeightSource = () => ToOutputMajor(b.ToFloatsUncached(), k, nOut, transB, alpha),
            WeightShape = [nOut, k],
            Bias = bias,
        };
    }

    private static LayerCandidate? FromMatMul(Graph.Graph g, Node n, Dictionary<string, int> knownRanks, out string? reason)
    {
        reason = null;
        if (n.Input(1) is not { } bName || !g.Initializers.TryGetValue(bName, out var b) || b.Rank != 2 || !b.Type.IsFloat())
        {
            reason = "weight is not a constant 2-D tensor";
            return null;
        }
        if (!knownRanks.TryGetValue(n.Inputs[0], out var rank) || rank != 2)
        {
            reason = "MatMul input is not known to be 2-D";
            return null;
        }
        return new LayerCandidate
        {
            Node = n,
            FullyConnected = true,
            WeightSource = () => ToOutputMajor(b.ToFloatsUncached(), b.Shape[0], b.Shape[1], transposed: false, alpha: 1f),
            WeightShape = [b.Shape[1], b.Shape[0]],
        };
    }

    // [K, N] (or [N, K] when transposed) to [N, K], times alpha.
    private static float[] ToOutputMajor(float[] b, int k, int nOut, bool transposed, float alpha)
    {
        var w = new float[k * nOut];
        for (var o = 0; o < nOut; o++)
        {
            for (var i = 0; i < k; i++)
            {
                w[o * k + i] = alpha * (transposed ? b[o * k + i] : b[i * nOut + o]);
            }
        }
        return w;
    }
}
