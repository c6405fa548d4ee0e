using System.Numerics;

namespace DSConvService.Core.Kernels.Elementwise;

/// <summary>A comparison producing a boolean (held as 0/1 in long).</summary>
public interface IComparison
{
    static abstract bool Compare<T>(T a, T b) where T : INumber<T>;
}

public readonly struct EqualOp : IComparison
{
    public static bool Compare<T>(T a, T b) where T : INumber<T> => a == b;
}

public readonly struct LessOp : IComparison
{
    public static bool Compare<T>(T a, T b) where T : INumber<T> => a < b;
}

public readonly struct LessOrEqualOp : IComparison
{
    public static bool Compare<T>(T a, T b) where T : INumber<T> => a <= b;
}

public readonly struct GreaterOp : IComparison
{
    public static bool Compare<T>(T a, T b) where T : INumber<T> => a > b;
}

public readonly struct GreaterOrEqualOp : IComparison
{
    public static bool Compare<T>(T a, T b) where T : INumber<T> => a >= b;
}

/// <summary>d[i] = a[i] ⋄ b[i] ? 1 : 0.</summary>
public readonly struct CompareRows<T, TCmp> : IRowKernel<T, T, long> where T : INumber<T> where TCmp : IComparison
{
    public static void Row(ReadOnlySpan<T> a, int stepA, ReadOnlySpan<T> b, int stepB, Span<long> d)
    {
        for (var i = 0; i < d.Length; i++)
        {
            d[i] = TCmp.Compare(a[i * stepA], b[i * stepB]) ? 1 : 0;
        }
    }
}
