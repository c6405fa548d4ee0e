using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// The vector loops of <see cref="DepthwiseConv"/> over one zero-padded, phase-split input plane
/// (<see cref="DepthwisePlaneLayout"/>): every tap is a plain unaligned load at a fixed offset, so a row of
/// outputs is computed in registers, 8 at a time, with bias and activation applied before the one store.
/// </summary>
internal static unsafe class DepthwisePlaneKernel
{
    /// <summary>
    /// y[oy·ow + ox] = act(bias + Σ_t w[t] · s[offsets[t] + oy·pitch + ox]) for oy &lt; oh, ox &lt; ow. Reads up to
    /// 7 floats past the last tap of each row (the layout's tail); writes y only inside the plane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(float* s, int pitch, int* offsets, float* w, int taps, float bias, float* y, int oh, int ow, FusedActivation act)
    {
        if (taps == 9)
        {
            Rows3x3(s, pitch, offsets, w, bias, y, oh, ow, act);
            return;
        }
        var vb = Vector256.Create(bias);
        for (var oy = 0; oy < oh; oy++)
        {
            var row = s + (long)oy * pitch;
            var yr = y + (long)oy * ow;
            var planeLeft = (oh - oy) * ow;
            var ox = 0;
            // 32 outputs at a time: four independent FMA chains share each weight broadcast (one chain over all
            // taps, 25 for 5x5, would wait on the FMA latency at every tap).
            for (; ox + 24 < ow; ox += 32)
            {
                var a0 = vb;
                var a1 = vb;
                var a2 = vb;
                var a3 = vb;
                var p = row + ox;
                for (var t = 0; t < taps; t++)
                {
                    var wt = Vector256.Create(w[t]);
                    var q = p + offsets[t];
                    a0 = Vector256.FusedMultiplyAdd(wt, Vector256.Load(q), a0);
                    a1 = Vector256.FusedMultiplyAdd(wt, Vector256.Load(q + 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(wt, Vector256.Load(q + 16), a2);
                    a3 = Vector256.FusedMultiplyAdd(wt, Vector256.Load(q + 24), a3);
                }
                Activate(a0, act).Store(yr + ox);
                Activate(a1, act).Store(yr + ox + 8);
                Activate(a2, act).Store(yr + ox + 16);
                Store(Activate(a3, act), yr + ox + 24, ow - ox - 24, planeLeft - ox - 24);
            }
            for (; ox + 8 < ow; ox += 16)
            {
                var a0 = vb;
                var a1 = vb;
                var p = row + ox;
                for (var t = 0; t < taps; t++)
                {
                    var wt = Vector256.Create(w[t]);
                    var q = p + offsets[t];
                    a0 = Vector256.FusedMultiplyAdd(wt, Vector256.Load(q), a0);
                    a1 = Vector256.FusedMultiplyAdd(wt, Vector256.Load(q + 8), a1);
                }
                Activate(a0, act).Store(yr + ox);
                Store(Activate(a1, act), yr + ox + 8, ow - ox - 8, planeLeft - ox - 8);
            }
            for (; ox < ow; ox += 8)
            {
                var acc = vb;
                for (var t = 0; t < taps; t++)
                {
                    acc = Vector256.FusedMultiplyAdd(Vector256.Create(w[t]), Vector256.Load(row + offsets[t] + ox), acc);
                }
                Store(Activate(acc, act), yr + ox, ow - ox, (oh - oy) * ow - ox);
            }
        }
    }

    /// <summary><see cref="Rows"/> for 9 taps (3×3) with the weights held in registers, two vectors per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows3x3(float* s, int pitch, int* o, float* w, float bias, float* y, int oh, int ow, FusedActivation act)
    {
        var w0 = Vector256.Create(w[0]);
        var w1 = Vector256.Create(w[1]);
        var w2 = Vector256.Create(w[2]);
        var w3 = Vector256.Create(w[3]);
        var w4 = Vector256.Create(w[4]);
        var w5 = Vector256.Create(w[5]);
        var w6 = Vector256.Create(w[6]);
        var w7 = Vector256.Create(w[7]);
        var w8 = Vector256.Create(w[8]);
        var vb = Vector256.Create(bias);
        int o0 = o[0], o1 = o[1], o2 = o[2], o3 = o[3], o4 = o[4], o5 = o[5], o6 = o[6], o7 = o[7], o8 = o[8];
        for (var oy = 0; oy < oh; oy++)
        {
            var r = s + (long)oy * pitch;
            var yr = y + (long)oy * ow;
            var planeLeft = (oh - oy) * ow;
            var ox = 0;
            for (; ox + 16 <= ow; ox += 16)
            {
                var p = r + ox;
                var a = Vector256.FusedMultiplyAdd(w0, Vector256.Load(p + o0), vb);
                var b = Vector256.FusedMultiplyAdd(w0, Vector256.Load(p + o0 + 8), vb);
                a = Vector256.FusedMultiplyAdd(w1, Vector256.Load(p + o1), a);
                b = Vector256.FusedMultiplyAdd(w1, Vector256.Load(p + o1 + 8), b);
                a = Vector256.FusedMultiplyAdd(w2, Vector256.Load(p + o2), a);
                b = Vector256.FusedMultiplyAdd(w2, Vector256.Load(p + o2 + 8), b);
                a = Vector256.FusedMultiplyAdd(w3, Vector256.Load(p + o3), a);
                b = Vector256.FusedMultiplyAdd(w3, Vector256.Load(p + o3 + 8), b);
                a = Vector256.FusedMultiplyAdd(w4, Vector256.Load(p + o4), a);
                b = Vector256.FusedMultiplyAdd(w4, Vector256.Load(p + o4 + 8), b);
                a = Vector256.FusedMultiplyAdd(w5, Vector256.Load(p + o5), a);
                b = Vector256.FusedMultiplyAdd(w5, Vector256.Load(p + o5 + 8), b);
                a = Vector256.FusedMultiplyAdd(w6, Vector256.Load(p + o6), a);
                b = Vector256.FusedMultiplyAdd(w6, Vector256.Load(p + o6 + 8), b);
                a = Vector256.FusedMultiplyAdd(w7, Vector256.Load(p + o7), a);
                b = Vector256.FusedMultiplyAdd(w7, Vector256.Load(p + o7 + 8), b);
                a = Vector256.FusedMultiplyAdd(w8, Vector256.Load(p + o8), a);
                b = Vector256.FusedMultiplyAdd(w8, Vector256.Load(p + o8 + 8), b);
                Activate(a, act).Store(yr + ox);
                Store(Activate(b, act), yr + ox + 8, ow - ox - 8, planeLeft - ox - 8);
            }
            for (; ox < ow; ox += 8)
            {
                var p = r + ox;
                var a = Vector256.FusedMultiplyAdd(w0, Vector256.Load(p + o0), vb);
                a = Vector256.FusedMultiplyAdd(w1, Vector256.Load(p + o1), a);
                a = Vector256.FusedMultiplyAdd(w2, Vector256.Load(p + o2), a);
                a = Vector256.FusedMultiplyAdd(w3, Vector256.Load(p + o3), a);
                a = Vector256.FusedMultiplyAdd(w4, Vector256.Load(p + o4), a);
                a = Vector256.FusedMultiplyAdd(w5, Vector256.Load(p + o5), a);
                a = Vector256.FusedMultiplyAdd(w6, Vector256.Load(p + o6), a);
                a = Vector256.FusedMultiplyAdd(w7, Vector256.Load(p + o7), a);
                a = Vector256.FusedMultiplyAdd(w8, Vector256.Load(p + o8), a);
                Store(Activate(a, act), yr + ox, ow - ox, planeLeft - ox);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Activate(Vector256<float> v, FusedActivation act) => ActivationVectors.Apply(v, act);

    /// <summary>
    /// Stores the first min(8, rowLeft) lanes. A full store may run into the next output rows (computed after this
    /// one, so they are overwritten); it must not pass the plane's end (planeLeft floats from y).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<float> v, float* y, int rowLeft, int planeLeft)
    {
        if (planeLeft >= 8)
        {
            v.Store(y);
            return;
        }
        for (var i = 0; i < Math.Min(rowLeft, 8); i++)
        {
            y[i] = v.GetElement(i);
        }
    }
}
