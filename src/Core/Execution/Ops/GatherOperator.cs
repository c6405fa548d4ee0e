using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>Gather along any axis; negative indices count from the end. Output: data[:axis] + indices.shape + data[axis+1:].</summary>
[OnnxOp("Gather")]
public sealed class GatherOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var data = Input(inputs, 0);
        var indices = Input(inputs, 1);
        if (indices.Type.IsFloat())
        {
            throw Error("indices must be integers.");
        }
        var axis = Axis(Node.GetInt("axis", 0), data.Shape.Length);
        var shape = data.Shape.Take(axis).Concat(indices.Shape).Concat(data.Shape.Skip(axis + 1)).ToArray();
        if (indices.Constant is { } c)
        {
            var dim = data.Shape[axis];
            foreach (var i in c.ToLongs())
            {
                if (i < -dim || i >= dim)
                {
                    throw Error($"index {i} is out of range for axis {axis} of size {dim}.");
                }
            }
        }
        return [new TensorDesc(data.Type, shape)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var data = inputs[0]!;
        var indices = inputs[1]!.ToLongs();
        var axis = Axis(Node.GetInt("axis", 0), data.Rank);
        var dim = data.Shape[axis];
        var inner = 1;
        for (var i = axis + 1; i < data.Rank; i++)
        {
            inner *= data.Shape[i];
        }
        var outer = 1;
        for (var i = 0; i < axis; i++)
        {
            outer *= data.Shape[i];
        }
        var dst = outputs[0].Data;
        var at = 0;
        for (var o = 0; o < outer; o++)
        {
            foreach (var raw in indices)
            {
                // Out-of-range runtime indices clamp instead of throwing inside the loop.
                var idx = (int)Math.Clamp(raw < 0 ? raw + dim : raw, 0, dim - 1);
                Array.Copy(data.Data, (o * dim + idx) * inner, dst, at, inner);
                at += inner;
            }
        }
    }
}
