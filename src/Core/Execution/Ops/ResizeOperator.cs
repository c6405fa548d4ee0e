using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Movement;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// Resize (opset 10: X, scales; from 11: X, roi, scales, sizes; 18 adds axes) in modes nearest (any
/// rank, any element type) and linear (on the last two axes, float). Coordinate transformation modes:
/// half_pixel (default from 11), pytorch_half_pixel, align_corners, asymmetric (opset 10's behaviour),
/// tf_half_pixel_for_nn, half_pixel_symmetric. Scales and sizes must be plan-time constants.
/// </summary>
[OnnxOp("Resize")]
public sealed class ResizeOperator : FoldingOperator
{
    private readonly string _mode;
    private readonly string _transform;
    private readonly string _nearest;

    public ResizeOperator(Node node, OperatorContext context) : base(node, context)
    {
        _mode = node.GetString("mode", "nearest");
        _transform = Opset < 11 ? "asymmetric" : node.GetString("coordinate_transformation_mode", "half_pixel");
        _nearest = Opset < 11 ? "floor" : node.GetString("nearest_mode", "round_prefer_floor");
        string? unsupported = _mode is not ("nearest" or "linear") ? $"mode '{_mode}'"
            : _transform is not ("half_pixel" or "pytorch_half_pixel" or "align_corners" or "asymmetric" or "tf_half_pixel_for_nn" or "half_pixel_symmetric") ? $"coordinate_transformation_mode '{_transform}'"
            : node.GetInt("antialias", 0) != 0 ? "antialias=1"
            : node.GetString("keep_aspect_ratio_policy", "stretch") != "stretch" ? "keep_aspect_ratio_policy other than stretch"
            : null;
        if (unsupported is not null)
        {
            throw new UnsupportedOperatorException("Resize", node.DisplayName, unsupported + " is not supported");
        }
    }

    /// <summary>Output shape and the per-axis scale used by the coordinate transformation.</summary>
    private (int[] Shape, double[] Scales) Resolve(int[] shape, Tensor? scalesInput, Tensor? sizesInput)
    {
        var rank = shape.Length;
        var axes = Node.GetInts("axes")?.Select(a => Axis(a, rank)).ToArray() ?? Enumerable.Range(0, rank).ToArray();
        var outShape = (int[])shape.Clone();
        var scales = Enumerable.Repeat(1.0, rank).ToArray();
        if (sizesInput is { Length: > 0 } sizesTensor)
        {
            var sizes = sizesTensor.ToLongs();
            if (sizes.Length != axes.Length)
            {
                throw Error($"sizes has {sizes.Length} values for {axes.Length} axes.");
            }
            for (var i = 0; i < axes.Length; i++)
            {
                outShape[axes[i]] = (int)sizes[i];
                scales[axes[i]] = shape[axes[i]] == 0 ? 1 : (double)sizes[i] / shape[axes[i]];
            }
        }
        else if (scalesInput is { Length: > 0 } scalesTensor)
        {
            var given = scalesTensor.ToFloats();
            if (given.Length != axes.Length)
            {
                throw Error($"scales has {given.Length} values for {axes.Length} axes.");
            }
            for (var i = 0; i < axes.Length; i++)
            {
                scales[axes[i]] = given[i];
                outShape[axes[i]] = (int)Math.Floor(shape[axes[i]] * (double)given[i]);
            }
        }
        else
        {
            throw Error("needs scales or sizes.");
        }
        if (_mode == "linear" && Enumerable.Range(0, Math.Max(rank - 2, 0)).Any(i => outShape[i] != shape[i]))
        {
            throw Error("linear mode is supported on the last two axes only.");
        }
        return (outShape, scales);
    }

    private (Tensor? Scales, Tensor? Sizes) ScalesAndSizes<T>(IReadOnlyList<T?> inputs, Func<T?, int, string, Tensor?> get) where T : class =>
        Opset < 11 ? (get(inputs.Count > 1 ? inputs[1] : null, 1, "scales"), null)
            : (get(inputs.Count > 2 ? inputs[2] : null, 2, "scales"), get(inputs.Count > 3 ? inputs[3] : null, 3, "sizes"));

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        if (_mode == "linear")
        {
            RequireFloat(x, "X");
        }
        var (scales, sizes) = ScalesAndSizes(inputs, (_, i, what) => OptionalConstant(inputs, i, what));
        return [new TensorDesc(x.Type, Resolve(x.Shape, scales, sizes).Shape)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var y = outputs[0];
        var (scales, sizes) = ScalesAndSizes(inputs, (t, _, _) => t);
        var (shape, factor) = Resolve(x.Shape, scales, sizes);
        if (_mode == "nearest")
        {
            // Unscaled axes map to themselves (tf_half_pixel_for_nn with ceil would otherwise shift them).
            var maps = shape.Select((n, k) => Enumerable.Range(0, n)
                .Select(o => n == x.Shape[k] && factor[k] == 1 ? o : Nearest(Original(o, x.Shape[k], n, factor[k]), x.Shape[k])).ToArray()).ToArray();
            TypedArrays.Dispatch(x.Data, y.Data, new NearestAction(x.Shape, maps));
            return;
        }
        var rank = x.Rank;
        var inH = rank >= 2 ? x.Shape[rank - 2] : 1;
        var inW = rank >= 1 ? x.Shape[rank - 1] : 1;
        var outH = rank >= 2 ? shape[rank - 2] : 1;
        var outW = rank >= 1 ? shape[rank - 1] : 1;
        var rows = Taps(inH, outH, rank >= 2 ? factor[rank - 2] : 1);
        var cols = Taps(inW, outW, rank >= 1 ? factor[rank - 1] : 1);
        var planes = inH * inW == 0 ? 0 : x.Length / (inH * inW);
        BilinearKernel.Run(x.Floats, planes, inH, inW, rows, cols, y.Floats);
    }

    private LinearTap[] Taps(int input, int output, double scale) => Enumerable.Range(0, output).Select(o =>
    {
        var v = Math.Clamp(Original(o, input, output, scale), 0, input - 1);
        var i0 = (int)Math.Floor(v);
        var i1 = Math.Min(i0 + 1, input - 1);
        return new LinearTap(i0, i1, (float)(v - i0));
    }).ToArray();

    /// <summary>The input coordinate an output coordinate maps to (coordinate_transformation_mode).</summary>
    private double Original(int o, int input, int output, double scale) => _transform switch
    {
        "pytorch_half_pixel" => output > 1 ? (o + 0.5) / scale - 0.5 : 0,
        "align_corners" => output == 1 ? 0 : o * (input - 1) / (double)(output - 1),
        "asymmetric" => o / scale,
        "tf_half_pixel_for_nn" => (o + 0.5) / scale,
        "half_pixel_symmetric" => input / 2.0 * (1 - output / (scale * input)) + (o + 0.5) / scale - 0.5,
        _ => (o + 0.5) / scale - 0.5,
    };

    private int Nearest(double v, int input)
    {
        var i = _nearest switch
        {
            "floor" => Math.Floor(v),
            "ceil" => Math.Ceiling(v),
            "round_prefer_ceil" => Math.Floor(v + 0.5),
            _ => v - Math.Floor(v) == 0.5 ? Math.Floor(v) : Math.Round(v),
        };
        return (int)Math.Clamp(i, 0, input - 1);
    }

    private readonly struct NearestAction(int[] shape, int[][] maps) : IArrayAction
    {
        public void Run<T>(T[] source, T[] destination) where T : unmanaged => PadKernel.Run(source, shape, maps, destination, default);
    }
}
