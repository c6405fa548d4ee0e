using System.Numerics.Tensors;
using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;
using Tensor = DSConvService.Core.Tensors.Tensor;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// Reductions over 'axes' (attribute before opset 18 — 13 for ReduceSum — then an optional input),
/// keepdims (default 1), noop_with_empty_axes. Float accumulates in double; Int64 in long.
/// Reducing a trailing block of axes (e.g. H, W of NCHW) runs per contiguous row.
/// </summary>
public abstract class ReduceOperator : FoldingOperator
{
    protected ReduceOperator(Node node, OperatorContext context) : base(node, context)
    {
    }

    protected abstract double Seed { get; }
    protected abstract double Accumulate(double acc, double v);
    protected virtual double Finish(double acc, int count) => acc;

    /// <summary>Vectorised reduction of one contiguous row, when the operation has one (else null).</summary>
    protected virtual float? Row(ReadOnlySpan<float> row) => null;

    private bool[] Reduced(int rank, Tensor? axesInput)
    {
        var given = Node.GetInts("axes") ?? axesInput?.ToLongs();
        var reduced = new bool[rank];
        if (given is null || given.Length == 0)
        {
            if (Node.GetInt("noop_with_empty_axes", 0) == 0)
            {
                Array.Fill(reduced, true);
            }
            return reduced;
        }
        foreach (var a in Axes(given, rank))
        {
            reduced[a] = true;
        }
        return reduced;
    }

    private int[] OutputShape(int[] shape, bool[] reduced) => Node.GetInt("keepdims", 1) != 0
        ? shape.Select((d, i) => reduced[i] ? 1 : d).ToArray()
        : shape.Where((_, i) => !reduced[i]).ToArray();

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        if (x.Type.Storage() is not (StorageKind.Float or StorageKind.Int64))
        {
            throw Error($"element type {x.Type} is not supported.");
        }
        var reduced = Reduced(x.Shape.Length, OptionalConstant(inputs, 1, "axes"));
        return [new TensorDesc(x.Type, OutputShape(x.Shape, reduced))];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var y = outputs[0];
        var reduced = Reduced(x.Rank, inputs.Length > 1 ? inputs[1] : null);
        var count = y.Length == 0 ? 0 : x.Length / y.Length;
        var trailing = reduced.SkipWhile(r => !r).All(r => r);
        if (x.Data is float[] xf && trailing && count > 0 && Row(xf.AsSpan(0, count)) is not null)
        {
            var yf = y.Floats;
            for (var o = 0; o < yf.Length; o++)
            {
                yf[o] = Row(xf.AsSpan(o * count, count))!.Value;
            }
            return;
        }
        // General case: walk the input once, accumulating into the output slot each element maps to.
        var rank = x.Rank;
        var outStrides = new int[rank];
        var acc = 1;
        for (var i = rank - 1; i >= 0; i--)
        {
            if (!reduced[i])
            {
                outStrides[i] = acc;
                acc *= x.Shape[i];
            }
        }
        var sums = new double[y.Length];
        Array.Fill(sums, Seed);
        var xs = x.Data as float[];
        var xl = x.Data as long[];
        var index = new int[rank];
        var at = 0;
        for (var e = 0; e < x.Length; e++)
        {
            sums[at] = Accumulate(sums[at], xs is not null ? xs[e] : xl![e]);
            for (var k = rank - 1; k >= 0; k--)
            {
                index[k]++;
                at += outStrides[k];
                if (index[k] < x.Shape[k])
                {
                    break;
                }
                at -= outStrides[k] * x.Shape[k];
                index[k] = 0;
            }
        }
        for (var o = 0; o < sums.Length; o++)
        {
            var v = Finish(sums[o], count);
            if (y.Data is float[] yf)
            {
                yf[o] = (float)v;
            }
            else
            {
                y.Longs[o] = (long)v;
            }
        }
    }
}

[OnnxOp("ReduceMean")]
public sealed class ReduceMeanOperator(Node node, OperatorContext context) : ReduceOperator(node, context)
{
    protected override double Seed => 0;
    protected override double Accumulate(double acc, double v) => acc + v;
    protected override double Finish(double acc, int count) => acc / count;
    protected override float? Row(ReadOnlySpan<float> row) => TensorPrimitives.Sum(row) / row.Length;
}

[OnnxOp("ReduceSum")]
public sealed class ReduceSumOperator(Node node, OperatorContext context) : ReduceOperator(node, context)
{
    protected override double Seed => 0;
    protected override double Accumulate(double acc, double v) => acc + v;
    protected override float? Row(ReadOnlySpan<float> row) => TensorPrimitives.Sum(row);
}

[OnnxOp("ReduceMax")]
public sealed class ReduceMaxOperator(Node node, OperatorContext context) : ReduceOperator(node, context)
{
    protected override double Seed => double.NegativeInfinity;
    protected override double Accumulate(double acc, double v) => Math.Max(acc, v);
    protected override float? Row(ReadOnlySpan<float> row) => TensorPrimitives.Max(row);
}

[OnnxOp("ReduceMin")]
public sealed class ReduceMinOperator(Node node, OperatorContext context) : ReduceOperator(node, context)
{
    protected override double Seed => double.PositiveInfinity;
    protected override double Accumulate(double acc, double v) => Math.Min(acc, v);
    protected override float? Row(ReadOnlySpan<float> row) => TensorPrimitives.Min(row);
}

[OnnxOp("ReduceProd")]
public sealed class ReduceProdOperator(Node node, OperatorContext context) : ReduceOperator(node, context)
{
    protected override double Seed => 1;
    protected override double Accumulate(double acc, double v) => acc * v;
}

[OnnxOp("ReduceSumSquare")]
public sealed class ReduceSumSquareOperator(Node node, OperatorContext context) : ReduceOperator(node, context)
{
    protected override double Seed => 0;
    protected override double Accumulate(double acc, double v) => acc + v * v;
    protected override float? Row(ReadOnlySpan<float> row) => TensorPrimitives.SumOfSquares(row);
}

[OnnxOp("ReduceL2")]
public sealed class ReduceL2Operator(Node node, OperatorContext context) : ReduceOperator(node, context)
{
    protected override double Seed => 0;
    protected override double Accumulate(double acc, double v) => acc + v * v;
    protected override double Finish(double acc, int count) => Math.Sqrt(acc);
}
