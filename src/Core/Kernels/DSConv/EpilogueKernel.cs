using System.Runtime.Intrinsics;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>dst[i] = act(src[i] + bias [+ residual[i]]) for a run of a tile row (residual may be null).</summary>
public static unsafe class EpilogueKernel
{
    public static void BiasActivate(float* src, float* dst, int count, float bias, FusedActivation act, float* residual = null)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vb = Vector256.Create(bias);
            var lo = Vector256.Create(act.Kind == ActivationKind.Relu ? 0f : act.Min);
            var hi = Vector256.Create(act.Kind == ActivationKind.Relu ? float.PositiveInfinity : act.Max);
            var alpha = Vector256.Create(act.Alpha);
            for (; i + 8 <= count; i += 8)
            {
                var v = Vector256.Load(src + i) + vb;
                if (residual != null)
                {
                    v += Vector256.Load(residual + i);
                }
                switch (act.Kind)
                {
                    case ActivationKind.Relu:
                    case ActivationKind.Clip:
                        v = Vector256.Min(Vector256.Max(v, lo), hi);
                        break;
                    case ActivationKind.LeakyRelu:
                        v = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(v, Vector256<float>.Zero), v, v * alpha);
                        break;
                }
                v.Store(dst + i);
            }
        }
        for (; i < count; i++)
        {
            dst[i] = act.Apply(src[i] + bias + (residual == null ? 0f : residual[i]));
        }
    }
}
