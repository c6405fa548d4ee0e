using DSConvService.Core.Kernels.Gemm;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Hardware;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>dst[i] = act(src[i] + bias [+ residual[i]]) for a run of a tile row (residual may be null).</summary>
public static unsafe class EpilogueKernel
{
    /// <param name="caps">What the layer may use (null: <see cref="CpuCapabilities.Current"/>).</param>
    public static void BiasActivate(float* src, float* dst, int count, float bias, in FusedActivation act, float* residual = null, CpuCapabilities? caps = null)
    {
        caps ??= CpuCapabilities.Current;
        caps.Census?.Ran(nameof(EpilogueKernel), caps.Avx512 ? "avx512" : caps.Avx2Fma ? "avx2" : "scalar");
        if (caps.Avx512)
        {
            BiasActivate512(src, dst, count, bias, act, residual);
            return;
        }
        if (caps.Avx2Fma)
        {
            BiasActivate256(src, dst, count, bias, act, residual);
            return;
        }
        for (var i = 0; i < count; i++)
        {
            dst[i] = act.Apply(src[i] + bias + (residual == null ? 0f : residual[i]));
        }
    }

    /// <summary>8 lanes at a time, the tail with masked loads and stores (as <see cref="BiasActivate512"/>).</summary>
    private static void BiasActivate256(float* src, float* dst, int count, float bias, in FusedActivation act, float* residual)
    {
        var vb = Vector256.Create(bias);
        var i = 0;
        for (; i + 8 <= count; i += 8)
        {
            var v = Vector256.Load(src + i) + vb;
            if (residual != null)
            {
                v += Vector256.Load(residual + i);
            }
            ActivationVectors.Apply(v, act).Store(dst + i);
        }
        if (i < count)
        {
            var mask = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count - i)).AsSingle();
            var v = Avx.MaskLoad(src + i, mask) + vb;
            if (residual != null)
            {
                v += Avx.MaskLoad(residual + i, mask);
            }
            Avx.MaskStore(dst + i, mask, ActivationVectors.Apply(v, act));
        }
    }

    /// <summary>16 lanes at a time, the tail with masked loads and stores (tile rows of small maps are short runs).</summary>
    private static void BiasActivate512(float* src, float* dst, int count, float bias, in FusedActivation act, float* residual)
    {
        var vb = Vector512.Create(bias);
        for (var i = 0; i < count; i += 16)
        {
            var left = count - i;
            var mask = left >= 16 ? Vector512<float>.AllBitsSet : Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(left)).AsSingle();
            var v = Avx512F.MaskLoad(src + i, mask, Vector512<float>.Zero) + vb;
            if (residual != null)
            {
                v += Avx512F.MaskLoad(residual + i, mask, Vector512<float>.Zero);
            }
            Avx512F.MaskStore(dst + i, mask, ActivationVectors.Apply(v, act));
        }
    }
}
