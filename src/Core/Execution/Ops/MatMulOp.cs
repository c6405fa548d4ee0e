using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// ONNX MatMul with numpy semantics: batched over the broadcast leading dimensions, a 1-D A is a row
/// vector and a 1-D B a column vector (their dimension dropped from the result). A constant 1-D or 2-D
/// B is packed into GEMM panels once, here.
/// </summary>
[OnnxOp("MatMul")]
public sealed class MatMulOp : Operator
{
    private readonly IGemmMicroKernel _kernel = GemmKernels.Default;
    private readonly float[]? _packedB;
    private readonly int[]? _constBShape;

    public MatMulOp(Node node, OperatorContext context) : base(node)
    {
        if (context.Constant(node, 1) is { Rank: 1 or 2, Type: DataType.Float } b)
        {
            _constBShape = b.Shape;
            var k = b.Shape[0];
            var n = b.Rank == 2 ? b.Shape[1] : 1;
            if (context.ShapesOnly)
            {
                return;
            }
            _packedB = GC.AllocateUninitializedArray<float>((int)Sgemm.PackedBFloats(_kernel, n, k), pinned: true);
            unsafe
            {
                fixed (float* src = b.Floats, dst = _packedB)
                {
                    Sgemm.PackB(_kernel, src, n, 1, k, n, dst);
                }
            }
        }
    }

    public override TensorDesc[] InferOutputs(TensorDesc?[] inputs) =>
        [new TensorDesc(DataType.Float, Layout(Required(inputs, 0).Shape, Required(inputs, 1).Shape).OutShape)];

    public override long ScratchFloats(TensorDesc?[] inputs)
    {
        var l = Layout(Required(inputs, 0).Shape, Required(inputs, 1).Shape);
        return Sgemm.PackedAFloats(_kernel, l.M, l.K) + 16 + (_constBShape is null ? Sgemm.ScratchFloats(_kernel, l.N, l.K) : 0);
    }

    public override unsafe void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var a = inputs[0]!;
        var b = inputs[1]!;
        var l = Layout(a.Shape, b.Shape);
        var batches = ShapeUtil.Size(l.Batch);
        fixed (float* pa = a.Floats, pb = b.Floats, py = outputs[0].Floats, scratch = context.Scratch, packedB = _packedB)
        {
            var packedA = Sgemm.Align64(scratch);
            var panels = Sgemm.Align64(packedA + Sgemm.PackedAFloats(_kernel, l.M, l.K));
            for (var i = 0; i < batches; i++)
            {
                var (offA, offB) = l.Offsets(i);
                var y = py + (long)i * l.M * l.N;
                Sgemm.PackA(_kernel, pa + offA, l.K, 1, l.M, l.K, 1f, packedA);
                if (packedB != null)
                {
                    Sgemm.Multiply(_kernel, packedA, packedB, l.M, l.N, l.K, y, l.N, false, default, context.Threads);
                }
                else
                {
                    var source = new MatrixPanelSource(pb + offB, l.K, l.N, 1);
                    Sgemm.Multiply(_kernel, packedA, source, panels, l.M, l.N, l.K, y, l.N, false, default, context.Threads);
                }
            }
        }
    }

    private BatchLayout Layout(int[] aShape, int[] bShape)
    {
        if (aShape.Length == 0 || bShape.Length == 0)
        {
            throw Error("MatMul inputs must have rank 1 or more.");
        }
        int[] a = aShape.Length == 1 ? [1, aShape[0]] : aShape;
        int[] b = bShape.Length == 1 ? [bShape[0], 1] : bShape;
        int m = a[^2], k = a[^1], n = b[^1];
        if (b[^2] != k)
        {
            throw Error($"inner dimensions differ: {ShapeUtil.Format(aShape)} × {ShapeUtil.Format(bShape)}.");
        }
        if (_constBShape is not null && !_constBShape.SequenceEqual(bShape))
        {
            throw Error("B does not match its constant value.");
        }
        var aBatch = a[..^2];
        var bBatch = b[..^2];
        int[] batch;
        try
        {
            batch = ShapeUtil.Broadcast(aBatch, bBatch);
        }
        catch (InvalidOperationException e)
        {
            throw Error(e.Message);
        }
        var outShape = new List<int>(batch);
        if (aShape.Length > 1)
        {
            outShape.Add(m);
        }
        if (bShape.Length > 1)
        {
            outShape.Add(n);
        }
        return new BatchLayout(m, k, n, batch, Strides(aBatch, batch, m * k), Strides(bBatch, batch, k * n), outShape.ToArray());
    }

    /// <summary>Element strides of an operand's batch dimensions against the broadcast batch shape (0 where broadcast).</summary>
    private static long[] Strides(int[] own, int[] batch, long matrix)
    {
        var strides = new long[batch.Length];
        var s = matrix;
        for (var i = batch.Length - 1; i >= 0; i--)
        {
            var j = i - (batch.Length - own.Length);
            var d = j >= 0 ? own[j] : 1;
            strides[i] = d == 1 ? 0 : s;
            s *= d;
        }
        return strides;
    }

    private sealed record BatchLayout(int M, int K, int N, int[] Batch, long[] StridesA, long[] StridesB, int[] OutShape)
    {
        /// <summary>Offsets of batch item i (row-major over Batch) in A and B.</summary>
        public (long A, long B) Offsets(int i)
        {
            long oa = 0, ob = 0;
            for (var d = Batch.Length - 1; d >= 0; d--)
            {
                var idx = i % Batch[d];
                i /= Batch[d];
                oa += idx * StridesA[d];
                ob += idx * StridesB[d];
            }
            return (oa, ob);
        }
    }
}
