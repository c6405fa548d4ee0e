using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// ONNX Gemm: Y = alpha·op(A)·op(B) + beta·C (op = optional transpose, C broadcast to [M, N]) plus the
/// session-only fused_* activation. A constant B is packed into GEMM panels once, here.
/// </summary>
[OnnxOp("Gemm")]
public sealed class GemmOp : Operator
{
    private readonly IGemmMicroKernel _kernel = GemmKernels.Default;
    private readonly float _alpha;
    private readonly float _beta;
    private readonly bool _transA;
    private readonly bool _transB;
    private readonly float[]? _packedB;
    private readonly bool _constB;
    private readonly int _constK;
    private readonly int _constN;
    private readonly FusedActivation _activation;

    public GemmOp(Node node, OperatorContext context) : base(node)
    {
        _alpha = node.GetFloat("alpha", 1f);
        _beta = node.GetFloat("beta", 1f);
        _transA = node.GetInt("transA", 0) != 0;
        _transB = node.GetInt("transB", 0) != 0;
        _activation = FusedActivation.FromNode(node);
        if (context.Constant(node, 1) is { Rank: 2, Type: DataType.Float } b)
        {
            _constK = _transB ? b.Shape[1] : b.Shape[0];
            _constN = _transB ? b.Shape[0] : b.Shape[1];
            _constB = true;
            _packedB = context.ShapesOnly ? null : PackConstantB(b);
        }
    }

    public override TensorDesc[] InferOutputs(TensorDesc?[] inputs)
    {
        var (m, _, n) = Sizes(Required(inputs, 0).Shape, Required(inputs, 1).Shape);
        if (inputs.Length > 2 && inputs[2] is { } c)
        {
            CheckBias(c.Shape, m, n);
        }
        return [new TensorDesc(DataType.Float, [m, n])];
    }

    public override long ScratchFloats(TensorDesc?[] inputs)
    {
        var (m, k, n) = Sizes(Required(inputs, 0).Shape, Required(inputs, 1).Shape);
        return Sgemm.PackedAFloats(_kernel, m, k) + 16 + (_constB ? 0 : Sgemm.ScratchFloats(_kernel, n, k));
    }

    public override unsafe void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var a = inputs[0]!;
        var b = inputs[1]!;
        var y = outputs[0];
        var (m, k, n) = Sizes(a.Shape, b.Shape);
        var c = inputs.Length > 2 ? inputs[2] : null;
        var accumulate = c is not null && _beta != 0f;
        if (accumulate)
        {
            FillWithBias(c!, y.Floats, m, n);
        }
        fixed (float* pa = a.Floats, pb = b.Floats, py = y.Floats, scratch = context.Scratch, packedB = _packedB)
        {
            if (m == 1 && packedB != null)
            {
                PackedGemv.Multiply(_kernel, pa, _transA ? m : 1, _alpha, packedB, k, n, py, accumulate, new GemmEpilogue(null, null, _activation), context.Threads);
                return;
            }
            var packedA = Sgemm.Align64(scratch);
            Sgemm.PackA(_kernel, pa, _transA ? 1 : k, _transA ? m : 1, m, k, _alpha, packedA);
            var epilogue = new GemmEpilogue(null, null, _activation);
            if (packedB != null)
            {
                Sgemm.Multiply(_kernel, packedA, packedB, m, n, k, py, n, accumulate, epilogue, context.Threads);
            }
            else
            {
                var panels = Sgemm.Align64(packedA + Sgemm.PackedAFloats(_kernel, m, k));
                var source = new MatrixPanelSource(pb, k, _transB ? 1 : n, _transB ? k : 1);
                Sgemm.Multiply(_kernel, packedA, source, panels, m, n, k, py, n, accumulate, epilogue, context.Threads);
            }
        }
    }

    /// <summary>y[i, j] = beta · C[i, j] with C broadcast from (), [N], [1, N], [M, 1], [M, N] or [1].</summary>
    private void FillWithBias(Tensor c, float[] y, int m, int n)
    {
        var cv = c.ToFloats();
        var shape = c.Shape;
        var rowStride = shape.Length == 2 && shape[0] == m && m != 1 ? (shape[1] == 1 ? 1 : n) : 0;
        var colStride = shape.Length >= 1 && shape[^1] == n && n != 1 ? 1 : 0;
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                y[i * n + j] = _beta * cv[i * rowStride + j * colStride];
            }
        }
    }

    private void CheckBias(int[] shape, int m, int n)
    {
        var ok = shape.Length switch
        {
            0 => true,
            1 => shape[0] == n || shape[0] == 1,
            2 => (shape[0] == m || shape[0] == 1) && (shape[1] == n || shape[1] == 1),
            _ => false,
        };
        if (!ok)
        {
            throw Error($"C of shape {ShapeUtil.Format(shape)} does not broadcast to [{m},{n}].");
        }
    }

    private (int M, int K, int N) Sizes(int[] a, int[] b)
    {
        if (a.Length != 2 || b.Length != 2)
        {
            throw Error($"A and B must be matrices, got {ShapeUtil.Format(a)} and {ShapeUtil.Format(b)}.");
        }
        var m = _transA ? a[1] : a[0];
        var k = _transA ? a[0] : a[1];
        var kb = _transB ? b[1] : b[0];
        var n = _transB ? b[0] : b[1];
        if (k != kb)
        {
            throw Error($"inner dimensions differ: A {ShapeUtil.Format(a)}{(_transA ? "ᵀ" : "")} and B {ShapeUtil.Format(b)}{(_transB ? "ᵀ" : "")}.");
        }
        if (_constB && (k != _constK || n != _constN))
        {
            throw Error("B does not match its constant value.");
        }
        return (m, k, n);
    }

    private unsafe float[] PackConstantB(Tensor b)
    {
        var packed = GC.AllocateUninitializedArray<float>((int)Sgemm.PackedBFloats(_kernel, _constN, _constK), pinned: true);
        fixed (float* src = b.Floats, dst = packed)
        {
            Sgemm.PackB(_kernel, src, _transB ? 1 : _constN, _transB ? _constK : 1, _constK, _constN, dst);
        }
        return packed;
    }
}
