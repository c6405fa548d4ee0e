using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Movement;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>Tile by constant repeats: output coordinate o reads input coordinate o mod dim.</summary>
[OnnxOp("Tile")]
public sealed class TileOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        var repeats = OptionalConstant(inputs, 1, "repeats")?.ToLongs() ?? throw Error("repeats are required.");
        if (repeats.Length != x.Shape.Length || repeats.Any(r => r < 0))
        {
            throw Error($"repeats [{string.Join(",", repeats)}] do not fit rank {x.Shape.Length}.");
        }
        return [new TensorDesc(x.Type, x.Shape.Select((d, i) => (int)(d * repeats[i])).ToArray())];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var y = outputs[0];
        var maps = y.Shape.Select((d, k) => Enumerable.Range(0, d).Select(o => o % x.Shape[k]).ToArray()).ToArray();
        TypedArrays.Dispatch(x.Data, y.Data, new TileAction(x.Shape, maps));
    }

    private readonly struct TileAction(int[] shape, int[][] maps) : IArrayAction
    {
        public void Run<T>(T[] source, T[] destination) where T : unmanaged => PadKernel.Run(source, shape, maps, destination, default);
    }
}
