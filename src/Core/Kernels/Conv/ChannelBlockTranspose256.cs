using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// 8×8 float transposes (16 pixels a load with AVX-512) between 8 channel planes (NCHW rows) and 8 pixels of 8 interleaved channels (one
/// channel block of <see cref="DepthwiseChannelBlocked"/>): unpack, in-lane shuffle, cross-lane permute.
/// </summary>
internal static unsafe class ChannelBlockTranspose256
{
    /// <summary>rows[i][j] → result[j][i] for 8 vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose(ref Vector256<float> r0, ref Vector256<float> r1, ref Vector256<float> r2, ref Vector256<float> r3,
        ref Vector256<float> r4, ref Vector256<float> r5, ref Vector256<float> r6, ref Vector256<float> r7)
    {
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        r0 = Avx.Permute2x128(u0, u4, 0x20);
        r1 = Avx.Permute2x128(u1, u5, 0x20);
        r2 = Avx.Permute2x128(u2, u6, 0x20);
        r3 = Avx.Permute2x128(u3, u7, 0x20);
        r4 = Avx.Permute2x128(u0, u4, 0x31);
        r5 = Avx.Permute2x128(u1, u5, 0x31);
        r6 = Avx.Permute2x128(u2, u6, 0x31);
        r7 = Avx.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>
    /// map(v) of the <paramref name="pixels"/> values of <paramref name="channels"/> ≤ 8 planes (<paramref name="planeStride"/>
    /// floats apart) scattered as 8-float pixels to <paramref name="dst"/> + <paramref name="offsets"/>[p]; channels beyond
    /// <paramref name="channels"/> are zero. Flat over the plane, so short rows cost no tails.
    /// </summary>
    public static void PlanesToPixels<TMap>(float* src, long planeStride, int channels, int pixels, int* offsets, float* dst, TMap map)
        where TMap : struct, IValueMap256
    {
        if (pixels < 8)
        {
            Pixels(src, planeStride, channels, 0, pixels, offsets, dst, map);
            return;
        }
        if (channels == 8 && pixels >= 16 && Avx512F.IsSupported && Vector512.IsHardwareAccelerated)
        {
            // 16 pixels of each plane per load: the map runs on 16 lanes, then two 8×8 transposes.
            for (var p = 0; p < pixels; p += 16)
            {
                var p0 = Math.Min(p, pixels - 16);
                if (!SixteenPixels(src + p0, planeStride, offsets + p0, dst, map))
                {
                    Pixels(src, planeStride, channels, p0, p0 + 16, offsets, dst, map);
                }
            }
            return;
        }
        for (var p = 0; p < pixels; p += 8)
        {
            // The last 8 overlap the ones before when pixels is not a multiple of 8: the same values to the same places.
            var p0 = Math.Min(p, pixels - 8);
            var done = channels == 8
                ? EightPixels(src + p0, planeStride, offsets + p0, dst, map)
                : EightPixelsOfFewChannels(src + p0, planeStride, channels, offsets + p0, dst, map);
            if (!done)
            {
                // A value the vector form cannot take: these 8 pixels one value at a time.
                Pixels(src, planeStride, channels, p0, p0 + 8, offsets, dst, map);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool EightPixels<TMap>(float* s, long planeStride, int* o, float* dst, TMap map)
        where TMap : struct, IValueMap256
    {
        var r0 = Vector256.Load(s);
        var r1 = Vector256.Load(s + planeStride);
        var r2 = Vector256.Load(s + 2 * planeStride);
        var r3 = Vector256.Load(s + 3 * planeStride);
        var r4 = Vector256.Load(s + 4 * planeStride);
        var r5 = Vector256.Load(s + 5 * planeStride);
        var r6 = Vector256.Load(s + 6 * planeStride);
        var r7 = Vector256.Load(s + 7 * planeStride);
        return MapAndStore(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7, o, dst, map);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SixteenPixels<TMap>(float* s, long planeStride, int* o, float* dst, TMap map)
        where TMap : struct, IValueMap256
    {
        var minNonZero = Vector512<uint>.AllBitsSet;
        var max = Vector512<int>.Zero;
        var r0 = map.Map(Vector512.Load(s), ref minNonZero, ref max);
        var r1 = map.Map(Vector512.Load(s + planeStride), ref minNonZero, ref max);
        var r2 = map.Map(Vector512.Load(s + 2 * planeStride), ref minNonZero, ref max);
        var r3 = map.Map(Vector512.Load(s + 3 * planeStride), ref minNonZero, ref max);
        var r4 = map.Map(Vector512.Load(s + 4 * planeStride), ref minNonZero, ref max);
        var r5 = map.Map(Vector512.Load(s + 5 * planeStride), ref minNonZero, ref max);
        var r6 = map.Map(Vector512.Load(s + 6 * planeStride), ref minNonZero, ref max);
        var r7 = map.Map(Vector512.Load(s + 7 * planeStride), ref minNonZero, ref max);
        if (!map.Fits(minNonZero, max))
        {
            return false;
        }
        StorePixels(r0.GetLower(), r1.GetLower(), r2.GetLower(), r3.GetLower(), r4.GetLower(), r5.GetLower(), r6.GetLower(), r7.GetLower(), o, dst);
        StorePixels(r0.GetUpper(), r1.GetUpper(), r2.GetUpper(), r3.GetUpper(), r4.GetUpper(), r5.GetUpper(), r6.GetUpper(), r7.GetUpper(), o + 8, dst);
        return true;
    }

    // 8 channel rows of 8 pixels → the 8 pixels at dst + o[i].
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePixels(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7, int* o, float* dst)
    {
        Transpose(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        r0.Store(dst + o[0]);
        r1.Store(dst + o[1]);
        r2.Store(dst + o[2]);
        r3.Store(dst + o[3]);
        r4.Store(dst + o[4]);
        r5.Store(dst + o[5]);
        r6.Store(dst + o[6]);
        r7.Store(dst + o[7]);
    }

    /// <summary>
    /// The last block of a layer whose channels are not a multiple of 8: the missing planes read as zeros (the channels
    /// beyond <paramref name="channels"/> are zero). Through the scalar path this block cost more than the other seven of
    /// a 58-channel ShuffleNet layer together.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool EightPixelsOfFewChannels<TMap>(float* s, long planeStride, int channels, int* o, float* dst, TMap map)
        where TMap : struct, IValueMap256
    {
        var rows = stackalloc Vector256<float>[8];
        for (var c = 0; c < 8; c++)
        {
            rows[c] = c < channels ? Vector256.Load(s + c * planeStride) : Vector256<float>.Zero;
        }
        return MapAndStore(ref rows[0], ref rows[1], ref rows[2], ref rows[3], ref rows[4], ref rows[5], ref rows[6], ref rows[7], o, dst, map);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool MapAndStore<TMap>(ref Vector256<float> r0, ref Vector256<float> r1, ref Vector256<float> r2, ref Vector256<float> r3,
        ref Vector256<float> r4, ref Vector256<float> r5, ref Vector256<float> r6, ref Vector256<float> r7, int* o, float* dst, TMap map)
        where TMap : struct, IValueMap256
    {
        var bad = map.Map(ref r0);
        bad |= map.Map(ref r1);
        bad |= map.Map(ref r2);
        bad |= map.Map(ref r3);
        bad |= map.Map(ref r4);
        bad |= map.Map(ref r5);
        bad |= map.Map(ref r6);
        bad |= map.Map(ref r7);
        if (bad != Vector256<int>.Zero)
        {
            return false;
        }
        StorePixels(r0, r1, r2, r3, r4, r5, r6, r7, o, dst);
        return true;
    }

    // Pixels [p0, p1) one value at a time.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Pixels<TMap>(float* src, long planeStride, int channels, int p0, int p1, int* offsets, float* dst, TMap map)
        where TMap : struct, IValueMap256
    {
        for (var p = p0; p < p1; p++)
        {
            var d = dst + offsets[p];
            for (var c = 0; c < 8; c++)
            {
                d[c] = c < channels ? map.Apply(src[c * planeStride + p]) : 0f;
            }
        }
    }

    /// <summary>8 pixels of 8 interleaved channels (as vectors) into the first <paramref name="channels"/> of 8 planes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BlockToPlanes(Vector256<float> p0, Vector256<float> p1, Vector256<float> p2, Vector256<float> p3,
        Vector256<float> p4, Vector256<float> p5, Vector256<float> p6, Vector256<float> p7, float* dst, long planeStride, int channels)
    {
        Transpose(ref p0, ref p1, ref p2, ref p3, ref p4, ref p5, ref p6, ref p7);
        if (channels == 8)
        {
            p0.Store(dst);
            p1.Store(dst + planeStride);
            p2.Store(dst + 2 * planeStride);
            p3.Store(dst + 3 * planeStride);
            p4.Store(dst + 4 * planeStride);
            p5.Store(dst + 5 * planeStride);
            p6.Store(dst + 6 * planeStride);
            p7.Store(dst + 7 * planeStride);
            return;
        }
        StoreFirst(channels, p0, p1, p2, p3, p4, p5, p6, p7, dst, planeStride);
    }

    // The last block of a layer whose channels are not a multiple of 8: only the first planes exist.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StoreFirst(int channels, Vector256<float> p0, Vector256<float> p1, Vector256<float> p2, Vector256<float> p3,
        Vector256<float> p4, Vector256<float> p5, Vector256<float> p6, Vector256<float> p7, float* dst, long planeStride)
    {
        var rows = stackalloc Vector256<float>[8] { p0, p1, p2, p3, p4, p5, p6, p7 };
        for (var c = 0; c < channels; c++)
        {
            rows[c].Store(dst + c * planeStride);
        }
    }
}
