using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Pooling;
using DSConvService.Core.Tensors;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// Shared part of MaxPool and AveragePool over 1-D and 2-D spatial inputs ([N,C,W] or [N,C,H,W]):
/// kernel_shape, strides, dilations, pads, auto_pad (NOTSET, VALID, SAME_UPPER, SAME_LOWER) and
/// ceil_mode. With ceil_mode a last window that would start in the end padding is dropped.
/// </summary>
public abstract class PoolOperator : FoldingOperator
{
    private const int StackScratchLimit = 8192;

    // Last window computed by a run (an immutable pair swapped atomically, so concurrent plans are safe):
    // parsing the attributes again on every run cost more than pooling a small plane.
    private CachedWindow? _lastWindow;

    private sealed record CachedWindow(int[] Shape, PoolWindow Window);

    protected PoolOperator(Node node, OperatorContext context) : base(node, context)
    {
    }

    /// <summary><see cref="Window"/> for a run, reused while the input shape stays the same.</summary>
    protected PoolWindow RunWindow(int[] inputShape)
    {
        if (Volatile.Read(ref _lastWindow) is { } last && last.Shape.AsSpan().SequenceEqual(inputShape))
        {
            return last.Window;
        }
        var g = Window(inputShape);
        Volatile.Write(ref _lastWindow, new CachedWindow((int[])inputShape.Clone(), g));
        return g;
    }

    /// <summary>Computes one output plane from one input plane, with <see cref="PoolWindow.ScratchLength"/> floats of scratch.</summary>
    protected abstract void Plane(ReadOnlySpan<float> x, Span<float> y, in PoolWindow g, Span<float> scratch);

    protected PoolWindow Window(int[] inputShape)
    {
        var spatial = inputShape.Length - 2;
        if (spatial is < 1 or > 2)
        {
            throw Error($"only 1-D and 2-D pooling is supported (input {ShapeUtil.Format(inputShape)}).");
        }
        var kernel = Node.GetInts("kernel_shape") ?? throw Error("kernel_shape is required.");
        if (kernel.Length != spatial)
        {
            throw Error($"kernel_shape has {kernel.Length} values for {spatial} spatial dimensions.");
        }
        var strides = Node.GetInts("strides") ?? Enumerable.Repeat(1L, spatial).ToArray();
        var dilations = Node.GetInts("dilations") ?? Enumerable.Repeat(1L, spatial).ToArray();
        var pads = Node.GetInts("pads") ?? new long[2 * spatial];
        if (strides.Length != spatial || dilations.Length != spatial || pads.Length != 2 * spatial)
        {
            throw Error("strides, dilations or pads do not match the number of spatial dimensions.");
        }
        var autoPad = Node.GetString("auto_pad", "NOTSET");
        var ceil = Node.GetInt("ceil_mode", 0) != 0;
        var output = new int[spatial];
        var begin = new int[spatial];
        var end = new int[spatial];
        for (var i = 0; i < spatial; i++)
        {
            var size = inputShape[2 + i];
            var k = (int)kernel[i];
            var s = (int)strides[i];
            var d = (int)dilations[i];
            if (k < 1 || s < 1 || d < 1)
            {
                throw Error("kernel_shape, strides and dilations must be positive.");
            }
            var extent = (k - 1) * d + 1;
            switch (autoPad)
            {
                case "SAME_UPPER" or "SAME_LOWER":
                    output[i] = (size + s - 1) / s;
                    var total = Math.Max(0, (output[i] - 1) * s + extent - size);
                    begin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                    end[i] = total - begin[i];
                    break;
                case "VALID":
                    output[i] = Math.Max(0, (size - extent) / s + 1);
                    break;
                case "NOTSET" or "":
                    begin[i] = (int)pads[i];
                    end[i] = (int)pads[i + spatial];
                    var span = size + begin[i] + end[i] - extent;
                    if (span < 0)
                    {
                        throw Error($"the window ({extent}) is larger than the padded input ({size + begin[i] + end[i]}).");
                    }
                    output[i] = (ceil ? (span + s - 1) / s : span / s) + 1;
                    if (ceil && (output[i] - 1) * s >= size + begin[i])
                    {
                        output[i]--;
                    }
                    break;
                default:
                    throw Error($"auto_pad '{autoPad}' is not supported.");
            }
        }
        return spatial == 1
            ? new PoolWindow(1, (int)kernel[0], 1, (int)strides[0], 1, (int)dilations[0], 0, begin[0], 0, end[0], 1, inputShape[2], 1, output[0])
            : new PoolWindow((int)kernel[0], (int)kernel[1], (int)strides[0], (int)strides[1], (int)dilations[0], (int)dilations[1],
                begin[0], begin[1], end[0], end[1], inputShape[2], inputShape[3], output[0], output[1]);
    }

    protected static int[] OutputShape(int[] inputShape, in PoolWindow g) =>
        inputShape.Length == 3 ? [inputShape[0], inputShape[1], g.OutputW] : [inputShape[0], inputShape[1], g.OutputH, g.OutputW];

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        RequireFloat(x, "X");
        var g = Window(x.Shape);
        var shape = OutputShape(x.Shape, g);
        return Node.Outputs.Count > 1
            ? [new TensorDesc(x.Type, shape), new TensorDesc(DataType.Int64, shape)]
            : [new TensorDesc(x.Type, shape)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var g = RunWindow(x.Shape);
        var planes = x.Shape[0] * x.Shape[1];
        var inSize = g.InputH * g.InputW;
        var outSize = g.OutputH * g.OutputW;
        var xs = x.Floats;
        var ys = outputs[0].Floats;
        CpuParallel.For(planes, ParallelPolicy.Threads(xs.Length, context.Threads), (start, end) =>
        {
            var length = g.ScratchLength;
            Span<float> scratch = length <= StackScratchLimit ? stackalloc float[length] : new float[length];
            for (var p = start; p < end; p++)
            {
                Plane(xs.AsSpan(p * inSize, inSize), ys.AsSpan(p * outSize, outSize), g, scratch);
            }
        });
    }
}

[OnnxOp("MaxPool")]
public sealed class MaxPoolOperator(Node node, OperatorContext context) : PoolOperator(node, context)
{
    protected override void Plane(ReadOnlySpan<float> x, Span<float> y, in PoolWindow g, Span<float> scratch) =>
        MaxPoolKernel.Plane(x, y, g, scratch);

    public override long ScratchFloats(TensorDesc?[] inputs) =>
        Node.Outputs.Count < 2 && Input(inputs, 0).Shape is var shape && Window(shape) is var g && MaxPoolChannelBlocked.Applies(g, shape[0] * shape[1])
            ? MaxPoolChannelBlocked.ScratchFloats(g) : 0;

    public override unsafe void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        if (outputs.Length < 2)
        {
            var window = RunWindow(inputs[0]!.Shape);
            if (MaxPoolChannelBlocked.Applies(window, inputs[0]!.Shape[0] * inputs[0]!.Shape[1]))
            {
                fixed (float* px = inputs[0]!.Floats, py = outputs[0].Floats, scratch = context.Scratch)
                {
                    MaxPoolChannelBlocked.Run(px, py, inputs[0]!.Shape[0] * inputs[0]!.Shape[1], window, scratch, context.Threads);
                }
                return;
            }
            base.Run(inputs, outputs, context);
            return;
        }
        // With Indices: flat indices into the whole input (NCHW order, or NCWH with storage_order=1).
        var x = inputs[0]!;
        var g = Window(x.Shape);
        var inSize = g.InputH * g.InputW;
        var outSize = g.OutputH * g.OutputW;
        var columnMajor = Node.GetInt("storage_order", 0) != 0;
        var indices = outputs[1].Longs;
        for (var p = 0; p < x.Shape[0] * x.Shape[1]; p++)
        {
            var ind = indices.AsSpan(p * outSize, outSize);
            MaxPoolKernel.PlaneWithIndices(x.Floats.AsSpan(p * inSize, inSize), outputs[0].Floats.AsSpan(p * outSize, outSize), ind, (long)p * inSize, g);
            if (columnMajor)
            {
                for (var i = 0; i < ind.Length; i++)
                {
                    var local = ind[i] - (long)p * inSize;
                    ind[i] = (long)p * inSize + local % g.InputW * g.InputH + local / g.InputW;
                }
            }
        }
    }
}

[OnnxOp("AveragePool")]
public sealed class AveragePoolOperator(Node node, OperatorContext context) : PoolOperator(node, context)
{
    private readonly bool _countIncludePad = node.GetInt("count_include_pad", 0) != 0;

    protected override void Plane(ReadOnlySpan<float> x, Span<float> y, in PoolWindow g, Span<float> scratch) =>
        AveragePoolKernel.Plane(x, y, g, _countIncludePad, scratch);
}
