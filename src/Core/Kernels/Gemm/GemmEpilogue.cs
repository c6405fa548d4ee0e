using System.Runtime.Intrinsics;

namespace DSConvService.Core.Kernels.Gemm;

/// <summary>
/// What the GEMM driver applies to each finished tile of C: c = act(c + rowBias[i] + colBias[j]).
/// Bias pointers may be null (no bias); they must stay valid (pinned) while the GEMM runs.
/// </summary>
public readonly unsafe struct GemmEpilogue(float* rowBias, float* colBias, FusedActivation activation)
{
    public float* RowBias { get; } = rowBias;
    public float* ColBias { get; } = colBias;
    public FusedActivation Activation { get; } = activation;

    public bool IsNone => RowBias == null && ColBias == null && Activation.Kind == ActivationKind.None;

    /// <summary>Applies the epilogue to rows [row0, row1) and columns [col0, col1) of C.</summary>
    /// <param name="wide">512-bit vectors allowed (the driver passes whether its micro-kernel is the AVX-512 one).</param>
    public void Apply(float* c, int ldc, int row0, int row1, int col0, int col1, bool wide = true)
    {
        if (IsNone)
        {
            return;
        }
        for (var i = row0; i < row1; i++)
        {
            EpilogueRow.Apply(c + (long)i * ldc + col0, col1 - col0, RowBias == null ? 0f : RowBias[i],
                ColBias == null ? null : ColBias + col0, Activation, wide);
        }
    }
}

/// <summary>y[j] = act(y[j] + bias + colBias[j]) over one row (colBias may be null).</summary>
public static unsafe class EpilogueRow
{
    public static void Apply(float* y, int n, float bias, float* colBias, FusedActivation act, bool wide = true)
    {
        var j = 0;
        if (wide && Vector512.IsHardwareAccelerated)
        {
            var vb = Vector512.Create(bias);
            for (; j <= n - 16; j += 16)
            {
                var v = Vector512.Load(y + j) + vb;
                if (colBias != null)
                {
                    v += Vector512.Load(colBias + j);
                }
                ActivationVectors.Apply(v, act).Store(y + j);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vb = Vector256.Create(bias);
            for (; j <= n - 8; j += 8)
            {
                var v = Vector256.Load(y + j) + vb;
                if (colBias != null)
                {
                    v += Vector256.Load(colBias + j);
                }
                ActivationVectors.Apply(v, act).Store(y + j);
            }
        }
        for (; j < n; j++)
        {
            var v = y[j] + bias;
            if (colBias != null)
            {
                v += colBias[j];
            }
            y[j] = act.Apply(v);
        }
    }
}
