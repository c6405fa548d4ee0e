using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Movement;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// Pad in modes constant, reflect, edge and wrap. Before opset 11 pads and value are attributes;
/// from 11 pads (and constant_value) are inputs, from 18 an optional axes input. Negative pads crop.
/// </summary>
[OnnxOp("Pad")]
public sealed class PadOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    private (int[] Begin, int[] End) Pads(int[] shape, Tensor?[] p)
    {
        var rank = shape.Length;
        var pads = IntsFromAttributeOrInput(p, "pads", 1) ?? throw Error("pads are required.");
        var axes = (p.Length > 3 ? p[3]?.ToLongs() : null)?.Select(a => Axis(a, rank)).ToArray() ?? Enumerable.Range(0, rank).ToArray();
        if (pads.Length != 2 * axes.Length)
        {
            throw Error($"pads has {pads.Length} values for {axes.Length} axes.");
        }
        var begin = new int[rank];
        var end = new int[rank];
        for (var i = 0; i < axes.Length; i++)
        {
            begin[axes[i]] = (int)pads[i];
            end[axes[i]] = (int)pads[i + axes.Length];
        }
        return (begin, end);
    }

    private string Mode => Node.GetString("mode", "constant");

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        OptionalConstant(inputs, 1, "pads");
        OptionalConstant(inputs, 3, "axes");
        if (Mode is not ("constant" or "reflect" or "edge" or "wrap"))
        {
            throw Error($"mode '{Mode}' is not supported.");
        }
        var (begin, end) = Pads(x.Shape, Constants(inputs));
        var shape = x.Shape.Select((d, i) => d + begin[i] + end[i]).ToArray();
        if (shape.Any(d => d < 0))
        {
            throw Error($"pads crop more than the input {ShapeUtil.Format(x.Shape)} holds.");
        }
        if (Mode != "constant" && x.Shape.Where((d, i) => d == 0 && shape[i] > 0).Any())
        {
            throw Error($"mode '{Mode}' cannot pad an empty dimension.");
        }
        if (Mode == "reflect" && x.Shape.Where((d, i) => begin[i] >= d && d > 1 || end[i] >= d && d > 1).Any())
        {
            throw Error("reflect pads must be smaller than the dimension they pad.");
        }
        return [new TensorDesc(x.Type, shape)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var (begin, end) = Pads(x.Shape, inputs);
        var mode = Mode;
        var maps = new int[x.Rank][];
        for (var k = 0; k < x.Rank; k++)
        {
            var n = x.Shape[k];
            maps[k] = new int[n + begin[k] + end[k]];
            for (var o = 0; o < maps[k].Length; o++)
            {
                maps[k][o] = Source(o - begin[k], n, mode);
            }
        }
        var value = inputs.Length > 2 && inputs[2] is { } v ? (v.Data is float[] f ? f[0] : v.ToLongs()[0]) : Node.GetFloat("value", 0f);
        TypedArrays.Dispatch(x.Data, outputs[0].Data, new PadAction(x.Shape, maps, value));
    }

    /// <summary>The source coordinate for coordinate i (may be outside [0, n)) of a padded dimension of size n; -1 for the fill value.</summary>
    private static int Source(int i, int n, string mode)
    {
        if (i >= 0 && i < n)
        {
            return i;
        }
        switch (mode)
        {
            case "edge":
                return Math.Clamp(i, 0, n - 1);
            case "wrap":
                return ((i % n) + n) % n;
            case "reflect":
                if (n == 1)
                {
                    return 0;
                }
                var period = 2 * (n - 1);
                i = ((i % period) + period) % period;
                return i < n ? i : period - i;
            default:
                return -1;
        }
    }

    private readonly struct PadAction(int[] shape, int[][] maps, double value) : IArrayAction
    {
        public void Run<T>(T[] source, T[] destination) where T : unmanaged =>
            PadKernel.Run(source, shape, maps, destination, TypedArrays.Convert<T>(value));
    }
}
