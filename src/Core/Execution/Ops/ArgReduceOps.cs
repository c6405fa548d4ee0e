using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>ArgMax / ArgMin along 'axis' (keepdims, select_last_index); the output is Int64.</summary>
public abstract class ArgReduceOperator : FoldingOperator
{
    protected ArgReduceOperator(Node node, OperatorContext context) : base(node, context)
    {
    }

    /// <summary>True when <paramref name="candidate"/> replaces <paramref name="best"/> (strictly better).</summary>
    protected abstract bool Better(double candidate, double best);

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        var axis = Axis(Node.GetInt("axis", 0), x.Shape.Length);
        var shape = Node.GetInt("keepdims", 1) != 0
            ? x.Shape.Select((d, i) => i == axis ? 1 : d).ToArray()
            : x.Shape.Where((_, i) => i != axis).ToArray();
        return [new TensorDesc(DataType.Int64, shape)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var axis = Axis(Node.GetInt("axis", 0), x.Rank);
        var last = Node.GetInt("select_last_index", 0) != 0;
        var n = x.Shape[axis];
        var inner = 1;
        for (var i = axis + 1; i < x.Rank; i++)
        {
            inner *= x.Shape[i];
        }
        var y = outputs[0].Longs;
        var xf = x.Data as float[];
        var xl = xf is null ? x.ToLongs() : null;
        for (var o = 0; o < y.Length; o++)
        {
            var baseIndex = o / inner * n * inner + o % inner;
            var best = 0;
            var bestValue = xf is not null ? xf[baseIndex] : (double)xl![baseIndex];
            for (var k = 1; k < n; k++)
            {
                var v = xf is not null ? xf[baseIndex + k * inner] : (double)xl![baseIndex + k * inner];
                if (Better(v, bestValue) || (last && v == bestValue))
                {
                    best = k;
                    bestValue = v;
                }
            }
            y[o] = best;
        }
    }
}

[OnnxOp("ArgMax")]
public sealed class ArgMaxOperator(Node node, OperatorContext context) : ArgReduceOperator(node, context)
{
    protected override bool Better(double candidate, double best) => candidate > best;
}

[OnnxOp("ArgMin")]
public sealed class ArgMinOperator(Node node, OperatorContext context) : ArgReduceOperator(node, context)
{
    protected override bool Better(double candidate, double best) => candidate < best;
}
