using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>Concat along an axis (negative allowed); all inputs share the other dimensions.</summary>
[OnnxOp("Concat")]
public sealed class ConcatOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var first = Input(inputs, 0);
        var rank = first.Shape.Length;
        var axis = Axis(Node.GetInt("axis", 1), rank);
        var shape = (int[])first.Shape.Clone();
        for (var i = 1; i < inputs.Length; i++)
        {
            var d = Input(inputs, i);
            if (d.Shape.Length != rank || d.Shape.Where((s, k) => k != axis && s != shape[k]).Any() || d.Type.Storage() != first.Type.Storage())
            {
                throw Error($"input {i} {d} does not fit {first} along axis {axis}.");
            }
            shape[axis] += d.Shape[axis];
        }
        return [new TensorDesc(first.Type, shape)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var y = outputs[0];
        var axis = Axis(Node.GetInt("axis", 1), y.Rank);
        var outer = 1;
        for (var i = 0; i < axis; i++)
        {
            outer *= y.Shape[i];
        }
        var row = outer == 0 ? 0 : y.Length / outer;
        var at = 0;
        var copies = new List<ParallelCopy.Part>(inputs.Length * outer);
        foreach (var x in inputs)
        {
            var block = outer == 0 ? 0 : x!.Length / outer;
            for (var o = 0; o < outer; o++)
            {
                copies.Add(new ParallelCopy.Part(x!.Data, (long)o * block, y.Data, (long)o * row + at, block));
            }
            at += block;
        }
        ParallelCopy.Run(copies, context.Threads);
    }
}

/// <summary>
/// Split along an axis: sizes from the 'split' attribute (before opset 13) or input (from 13), else
/// equal parts (from opset 18 'num_outputs' parts of ceil(dim / n), the last one smaller).
/// </summary>
[OnnxOp("Split")]
public sealed class SplitOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    private int[] Sizes(int[] shape, int axis, Tensor? splitInput)
    {
        var n = Node.Outputs.Count;
        var dim = shape[axis];
        var given = Node.GetInts("split") ?? splitInput?.ToLongs();
        if (given is not null)
        {
            if (given.Length != n || given.Sum() != dim || given.Any(s => s < 0))
            {
                throw Error($"split [{string.Join(",", given)}] does not divide dimension {dim} into {n} outputs.");
            }
            return given.Select(s => (int)s).ToArray();
        }
        if (Node.Attributes.ContainsKey("num_outputs"))
        {
            var part = (dim + n - 1) / n;
            return Enumerable.Range(0, n).Select(i => Math.Max(0, Math.Min(part, dim - i * part))).ToArray();
        }
        if (dim % n != 0)
        {
            throw Error($"dimension {dim} cannot be split into {n} equal parts.");
        }
        return Enumerable.Repeat(dim / n, n).ToArray();
    }

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        var axis = Axis(Node.GetInt("axis", 0), x.Shape.Length);
        var sizes = Sizes(x.Shape, axis, OptionalConstant(inputs, 1, "split"));
        return sizes.Select(s =>
        {
            var shape = (int[])x.Shape.Clone();
            shape[axis] = s;
            return new TensorDesc(x.Type, shape);
        }).ToArray();
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var axis = Axis(Node.GetInt("axis", 0), x.Rank);
        var outer = 1;
        for (var i = 0; i < axis; i++)
        {
            outer *= x.Shape[i];
        }
        var row = outer == 0 ? 0 : x.Length / outer;
        var at = 0;
        var copies = new List<ParallelCopy.Part>(outputs.Length * outer);
        foreach (var y in outputs)
        {
            var block = outer == 0 ? 0 : y.Length / outer;
            for (var o = 0; o < outer; o++)
            {
                copies.Add(new ParallelCopy.Part(x.Data, (long)o * row + at, y.Data, (long)o * block, block));
            }
            at += block;
        }
        ParallelCopy.Run(copies, context.Threads);
    }
}
