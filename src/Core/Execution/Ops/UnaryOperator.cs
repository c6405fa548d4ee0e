using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Execution.Ops;

/// <summary>An element-wise operator of one input; float (and optionally integer) data, split over threads when large.</summary>
public abstract class UnaryOperator : FoldingOperator
{

    protected UnaryOperator(Node node, OperatorContext context) : base(node, context)
    {
    }

    /// <summary>Whether <see cref="ApplyLong"/> is implemented.</summary>
    protected virtual bool SupportsIntegers => false;

    protected abstract void Apply(ReadOnlySpan<float> x, Span<float> y);

    protected virtual long ApplyLong(long x) => throw new NotSupportedException();

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        if (!x.Type.IsFloat() && !(SupportsIntegers && x.Type.Storage() == StorageKind.Int64))
        {
            throw Error($"element type {x.Type} is not supported.");
        }
        return [new TensorDesc(x.Type, x.Shape)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        if (x.Data is long[] xl)
        {
            var yl = outputs[0].Longs;
            for (var i = 0; i < xl.Length; i++)
            {
                yl[i] = ApplyLong(xl[i]);
            }
            return;
        }
        Chunked(x.Floats, outputs[0].Floats, context.Threads, Apply);
    }

    protected delegate void SpanMap(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>Runs <paramref name="map"/> over x → y, in contiguous chunks on several threads when large.</summary>
    protected static void Chunked(float[] x, float[] y, int threads, SpanMap map) =>
        CpuParallel.For(x.Length, ParallelPolicy.Threads(x.Length, threads),
            (start, end) => map(x.AsSpan(start, end - start), y.AsSpan(start, end - start)));
}
