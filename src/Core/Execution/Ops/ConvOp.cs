using DSConvService.Core.Graph;
using DSConvService.Core.Hardware;
using DSConvService.Core.Kernels.Conv;
using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// ONNX Conv (1-D and 2-D, groups, dilations, strides, explicit pads or auto_pad, optional bias) plus
/// the session-only fused_* activation. Constant weights are packed into GEMM panels once, here;
/// each run packs im2col panels into scratch and runs the GEMM per image and group. Depthwise
/// convolutions (one input channel per group) use a direct kernel instead.
/// </summary>
[OnnxOp("Conv")]
public sealed class ConvOp : Operator
{
    private readonly IGemmMicroKernel _kernel = GemmKernels.Default;
    private readonly float[] _weights;
    private readonly float[]? _packed;
    private readonly FewChannelConv? _direct;
    private readonly bool _usesDirect;

    // Layers of up to 64 channels keep both forms: the direct kernel where output rows are wide, the GEMM elsewhere.
    private readonly bool _directOnWideRows;
    private readonly long _packedPerGroup;
    private readonly float[]? _bias;
    private readonly int _outChannels;
    private readonly int _groupChannels;
    private readonly int _group;
    private readonly int _kernelH;
    private readonly int _kernelW;
    private readonly bool _oneD;
    private readonly int[] _strides;
    private readonly int[] _dilations;
    private readonly int[] _pads;
    private readonly string _autoPad;
    private readonly FusedActivation _activation;

    public ConvOp(Node node, OperatorContext context) : base(node)
    {
        var w = context.Constant(node, 1)
            ?? throw Error("the weight (input 1) must be a constant initializer.");
        if (w.Rank == 5)
        {
            throw Error("3-D convolution is not supported (only 1-D and 2-D).");
        }
        if (w.Rank is not (3 or 4) || w.Type != DataType.Float)
        {
            throw Error($"the weight must be a float tensor of rank 3 or 4, got {w}.");
        }
        _oneD = w.Rank == 3;
        var spatial = _oneD ? 1 : 2;
        _outChannels = w.Shape[0];
        _groupChannels = w.Shape[1];
        _kernelH = _oneD ? 1 : w.Shape[2];
        _kernelW = w.Shape[^1];
        _group = (int)node.GetInt("group", 1);
        if (_group < 1 || _outChannels % _group != 0)
        {
            throw Error($"group {_group} does not divide the {_outChannels} output channels.");
        }
        if (node.GetInts("kernel_shape") is { } ks && !ks.SequenceEqual(w.Shape.Skip(2).Select(d => (long)d)))
        {
            throw Error($"kernel_shape [{string.Join(",", ks)}] does not match the weight shape {ShapeUtil.Format(w.Shape)}.");
        }
        _strides = Ints(node, "strides", spatial, 1);
        _dilations = Ints(node, "dilations", spatial, 1);
        _pads = Ints(node, "pads", 2 * spatial, 0);
        if (_strides.Any(s => s < 1) || _dilations.Any(d => d < 1))
        {
            throw Error("strides and dilations must be positive.");
        }
        _autoPad = node.GetString("auto_pad", "NOTSET");
        if (_autoPad is not ("NOTSET" or "SAME_UPPER" or "SAME_LOWER" or "VALID"))
        {
            throw Error($"auto_pad '{_autoPad}' is not valid.");
        }
        _activation = FusedActivation.FromNode(node);
        _weights = context.ShapesOnly ? [] : w.Floats;
        if (context.Constant(node, 2) is { } b)
        {
            if (b.Length != _outChannels)
            {
                throw Error($"the bias has {b.Length} values for {_outChannels} output channels.");
            }
            _bias = GC.AllocateArray<float>(_outChannels, pinned: true);
            if (!context.ShapesOnly)
            {
                b.ToFloats().CopyTo(_bias, 0);
            }
        }
        _usesDirect = !IsDepthwise && !_oneD && FewChannelConv.Applies(_group, _groupChannels, _kernelH, _kernelW);
        _directOnWideRows = !IsDepthwise && !_oneD && !_usesDirect && FewChannelConv.AppliesToWideRows(_group, _groupChannels, _kernelH, _kernelW);
        if (context.ShapesOnly)
        {
            return;
        }
        if (_usesDirect || _directOnWideRows)
        {
            // The RGB stem and small-channel layers: a direct convolution instead of im2col panels for a GEMM with a short K.
            _direct = new FewChannelConv(_weights, _bias, _outChannels, _groupChannels, _kernelH, _kernelW, _activation);
        }
        if (!_usesDirect && !IsDepthwise)
        {
            _packed = PackWeights(out _packedPerGroup);
        }
    }

    // Also while planning from shapes alone (no kernel built): the rule depends on the geometry and the CPU only.
    private bool RunsDirect(in ConvGeometry g) =>
        _usesDirect || _directOnWideRows && (FewChannelConv.RowsAreWide(g) || FewChannelConv.RunsFlat(g, CpuCapabilities.Current.Avx512F));

    /// <summary>One input channel per group: the direct depthwise kernel runs instead of im2col + GEMM.</summary>
    private bool IsDepthwise => _groupChannels == 1 && _group > 1;

    private int OutPerGroup => _outChannels / _group;
    private int Taps => _groupChannels * _kernelH * _kernelW;

    public override TensorDesc[] InferOutputs(TensorDesc?[] inputs)
    {
        var x = Required(inputs, 0);
        var g = Geometry(x.Shape);
        if (inputs.Length > 2 && inputs[2] is { } b && ShapeUtil.Size(b.Shape) != _outChannels)
        {
            throw Error($"the bias has {ShapeUtil.Size(b.Shape)} values for {_outChannels} output channels.");
        }
        int[] shape = _oneD ? [x.Shape[0], _outChannels, g.OutWidth] : [x.Shape[0], _outChannels, g.OutHeight, g.OutWidth];
        return [new TensorDesc(DataType.Float, shape)];
    }

    /// <summary>Below this many output pixels per image, the images of a batch run as one GEMM (see <see cref="Im2ColPanelSource"/>).</summary>
    private const int BatchedPixelLimit = 1024;

    /// <summary>
    /// Whether the batch runs as one GEMM: spatial kernels on small maps. Not 1×1 layers: there the batched GEMM packs
    /// its panels through the im2col source and copies C out once more, and image by image was faster on every model
    /// of the suite (Zen 5, batch 8, sum of the pointwise nodes' minima, 1 thread: GoogLeNet 46.8 → 32.2 ms, MobileNetV2
    /// 36.9 → 30.1, EfficientNet-B0 46.7 → 40.1, ShuffleNet 15.5 → 11.4, SqueezeNet 16.0 → 13.1; ResNet18 and resnet_mini
    /// level; 2 threads: GoogLeNet 27.5 → 18.8, MobileNetV2 20.0 → 16.5).
    /// </summary>
    private static bool RunsBatched(int batch, in ConvGeometry g) => batch > 1 && g.OutPixels < BatchedPixelLimit && !g.IsPointwise;

    public override long ScratchFloats(TensorDesc?[] inputs)
    {
        var x = Required(inputs, 0).Shape;
        var g = Geometry(x);
        if (IsDepthwise)
        {
            return DepthwiseConv.ScratchFloats(g);
        }
        if (RunsDirect(g))
        {
            return FewChannelConv.ScratchFloats(g, x[0]);
        }
        if (RunsBatched(x[0], g))
        {
            var columns = x[0] * g.OutPixels;
            return Sgemm.ScratchFloats(_kernel, columns, Taps) + (long)OutPerGroup * columns + 16;
        }
        return Sgemm.ScratchFloats(_kernel, g.OutPixels, Taps);
    }

    public override unsafe void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var y = outputs[0];
        var g = Geometry(x.Shape);
        var batch = x.Shape[0];
        if (IsDepthwise)
        {
            RunDepthwise(x.Floats, y.Floats, batch, g, context.Scratch, context.Threads);
            return;
        }
        var inPlane = (long)g.InPixels;
        var outPlane = (long)g.OutPixels;
        var og = OutPerGroup;
        fixed (float* xs = x.Floats, ys = y.Floats, scratch = context.Scratch, packed = _packed, bias = _bias)
        {
            if (_direct is not null && RunsDirect(g))
            {
                _direct.Run(xs, batch, g, ys, scratch, context.Threads);
                return;
            }
            var panels = Sgemm.Align64(scratch);
            if (RunsBatched(batch, g))
            {
                RunBatched(xs, ys, panels, packed, bias, batch, g, context.Threads);
                return;
            }
            for (var n = 0; n < batch; n++)
            {
                for (var grp = 0; grp < _group; grp++)
                {
                    var xg = xs + ((long)n * _groupChannels * _group + (long)grp * _groupChannels) * inPlane;
                    var yg = ys + ((long)n * _outChannels + (long)grp * og) * outPlane;
                    var a = packed + grp * _packedPerGroup;
                    var epilogue = new GemmEpilogue(bias == null ? null : bias + grp * og, null, _activation);
                    if (g.IsPointwise)
                    {
                        var source = new MatrixPanelSource(xg, _groupChannels, g.InPixels, 1);
                        Sgemm.Multiply(_kernel, a, source, panels, og, g.OutPixels, Taps, yg, g.OutPixels, false, epilogue, context.Threads);
                    }
                    else
                    {
                        var source = new Im2ColPanelSource(xg, g);
                        Sgemm.Multiply(_kernel, a, source, panels, og, g.OutPixels, Taps, yg, g.OutPixels, false, epilogue, context.Threads);
                    }
                }
            }
        }
    }

    /// <summary>
    /// All images of the batch as one GEMM per group: C[o, n·P + p] in scratch, then copied to y[n, o, p].
    /// The weights stream once per group instead of once per image.
    /// </summary>
    private unsafe void RunBatched(float* xs, float* ys, float* panels, float* packed, float* bias, int batch, ConvGeometry g, int threads)
    {
        var og = OutPerGroup;
        var p = g.OutPixels;
        var columns = batch * p;
        var c = Sgemm.Align64(panels + Sgemm.PackedBFloats(_kernel, columns, Taps));
        var imageIn = (long)_groupChannels * _group * g.InPixels;
        for (var grp = 0; grp < _group; grp++)
        {
            var source = new Im2ColPanelSource(xs + (long)grp * _groupChannels * g.InPixels, g, imageIn);
            var epilogue = new GemmEpilogue(bias == null ? null : bias + grp * og, null, _activation);
            Sgemm.Multiply(_kernel, packed + grp * _packedPerGroup, source, panels, og, columns, Taps, c, columns, false, epilogue, threads);
            for (var n = 0; n < batch; n++)
            {
                for (var o = 0; o < og; o++)
                {
                    PanelCopy.Copy(c + (long)o * columns + (long)n * p, ys + ((long)n * _outChannels + grp * og + o) * p, p);
                }
            }
        }
    }

    private unsafe void RunDepthwise(float[] x, float[] y, int batch, ConvGeometry g, float[] scratch, int threads)
    {
        fixed (float* xs = x, ys = y, ws = _weights, bs = _bias, ss = scratch)
        {
            DepthwiseConv.Run(xs, ws, bs, ys, batch, _group, _outChannels / _group, g, _activation, ss, threads);
        }
    }

    private unsafe float[] PackWeights(out long perGroup)
    {
        var og = OutPerGroup;
        var k = Taps;
        perGroup = Sgemm.PackedAFloats(_kernel, og, k);
        var packed = GC.AllocateUninitializedArray<float>((int)(perGroup * _group), pinned: true);
        fixed (float* w = _weights, dst = packed)
        {
            for (var grp = 0; grp < _group; grp++)
            {
                Sgemm.PackA(_kernel, w + (long)grp * og * k, k, 1, og, k, 1f, dst + grp * perGroup);
            }
        }
        return packed;
    }

    private ConvGeometry Geometry(int[] xShape)
    {
        var rank = _oneD ? 3 : 4;
        if (xShape.Length != rank)
        {
            throw Error($"input of shape {ShapeUtil.Format(xShape)} does not fit a {(_oneD ? "1-D" : "2-D")} convolution (rank {rank} expected).");
        }
        var channels = xShape[1];
        if (channels != _groupChannels * _group)
        {
            throw Error($"input has {channels} channels, the weight expects {_groupChannels} per group × {_group} groups.");
        }
        var h = _oneD ? 1 : xShape[2];
        var w = xShape[^1];
        int oh = 1, padTop = 0, ow, padLeft;
        var spatial = _oneD ? 1 : 2;
        if (!_oneD && !ConvGeometry.Axis(_autoPad, h, _kernelH, _strides[0], _dilations[0], _pads[0], _pads[spatial], out oh, out padTop))
        {
            throw Error($"input height {h} gives an empty output or negative pads.");
        }
        if (!ConvGeometry.Axis(_autoPad, w, _kernelW, _strides[^1], _dilations[^1], _pads[spatial - 1], _pads[2 * spatial - 1], out ow, out padLeft))
        {
            throw Error($"input width {w} gives an empty output or negative pads.");
        }
        return new ConvGeometry(_groupChannels, h, w, _kernelH, _kernelW,
            _oneD ? 1 : _strides[0], _strides[^1], _oneD ? 1 : _dilations[0], _dilations[^1], padTop, padLeft, oh, ow);
    }

    private int[] Ints(Node node, string name, int count, int fallback)
    {
        var v = node.GetInts(name);
        if (v is null)
        {
            return Enumerable.Repeat(fallback, count).ToArray();
        }
        if (v.Length != count)
        {
            throw Error($"attribute {name} has {v.Length} values, {count} expected.");
        }
        return v.Select(i => (int)i).ToArray();
    }
}
