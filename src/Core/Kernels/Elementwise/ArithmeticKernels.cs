using System.Numerics.Tensors;

namespace DSConvService.Core.Kernels.Elementwise;

/// <summary>A binary arithmetic operation on float (vectorised with TensorPrimitives) and on long (scalar).</summary>
public interface IArithmetic
{
    static abstract float Apply(float a, float b);
    static abstract long Apply(long a, long b);

    /// <summary>d[i] = f(a[i], b[i]).</summary>
    static abstract void RowRow(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d);

    /// <summary>d[i] = f(a[i], b).</summary>
    static abstract void RowScalar(ReadOnlySpan<float> a, float b, Span<float> d);

    /// <summary>d[i] = f(a, b[i]).</summary>
    static abstract void ScalarRow(float a, ReadOnlySpan<float> b, Span<float> d);
}

public readonly struct AddOp : IArithmetic
{
    public static float Apply(float a, float b) => a + b;
    public static long Apply(long a, long b) => a + b;
    public static void RowRow(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Add(a, b, d);
    public static void RowScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Add(a, b, d);
    public static void ScalarRow(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Add(b, a, d);
}

public readonly struct SubOp : IArithmetic
{
    public static float Apply(float a, float b) => a - b;
    public static long Apply(long a, long b) => a - b;
    public static void RowRow(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Subtract(a, b, d);
    public static void RowScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Subtract(a, b, d);
    public static void ScalarRow(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Subtract(a, b, d);
}

public readonly struct MulOp : IArithmetic
{
    public static float Apply(float a, float b) => a * b;
    public static long Apply(long a, long b) => a * b;
    public static void RowRow(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Multiply(a, b, d);
    public static void RowScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Multiply(a, b, d);
    public static void ScalarRow(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Multiply(b, a, d);
}

public readonly struct DivOp : IArithmetic
{
    public static float Apply(float a, float b) => a / b;

    /// <summary>Integer division truncates toward zero; division by zero gives 0 instead of throwing.</summary>
    public static long Apply(long a, long b) => b == 0 ? 0 : a / b;
    public static void RowRow(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Divide(a, b, d);
    public static void RowScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Divide(a, b, d);
    public static void ScalarRow(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Divide(a, b, d);
}

public readonly struct PowOp : IArithmetic
{
    public static float Apply(float a, float b) => MathF.Pow(a, b);

    public static long Apply(long a, long b)
    {
        if (b < 0)
        {
            return a == 1 ? 1 : a == -1 ? (b % 2 == 0 ? 1 : -1) : 0;
        }
        long r = 1;
        for (var i = 0L; i < b; i++)
        {
            r *= a;
        }
        return r;
    }

    public static void RowRow(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d)
    {
        for (var i = 0; i < d.Length; i++)
        {
            d[i] = MathF.Pow(a[i], b[i]);
        }
    }

    public static void RowScalar(ReadOnlySpan<float> a, float b, Span<float> d)
    {
        if (b == 2f)
        {
            TensorPrimitives.Multiply(a, a, d);
            return;
        }
        if (b == 0.5f)
        {
            TensorPrimitives.Sqrt(a, d);
            return;
        }
        for (var i = 0; i < d.Length; i++)
        {
            d[i] = MathF.Pow(a[i], b);
        }
    }

    public static void ScalarRow(float a, ReadOnlySpan<float> b, Span<float> d)
    {
        for (var i = 0; i < d.Length; i++)
        {
            d[i] = MathF.Pow(a, b[i]);
        }
    }
}

public readonly struct MaxOp : IArithmetic
{
    public static float Apply(float a, float b) => MathF.Max(a, b);
    public static long Apply(long a, long b) => Math.Max(a, b);
    public static void RowRow(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Max(a, b, d);
    public static void RowScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Max(a, b, d);
    public static void ScalarRow(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Max(b, a, d);
}

public readonly struct MinOp : IArithmetic
{
    public static float Apply(float a, float b) => MathF.Min(a, b);
    public static long Apply(long a, long b) => Math.Min(a, b);
    public static void RowRow(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Min(a, b, d);
    public static void RowScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Min(a, b, d);
    public static void ScalarRow(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Min(b, a, d);
}

public readonly struct PReluOp : IArithmetic
{
    public static float Apply(float a, float b) => a < 0 ? a * b : a;
    public static long Apply(long a, long b) => a < 0 ? a * b : a;

    public static void RowRow(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d)
    {
        for (var i = 0; i < d.Length; i++)
        {
            d[i] = Apply(a[i], b[i]);
        }
    }

    public static void RowScalar(ReadOnlySpan<float> a, float b, Span<float> d) => ActivationKernels.LeakyRelu(a, d, b);

    public static void ScalarRow(float a, ReadOnlySpan<float> b, Span<float> d)
    {
        if (a < 0)
        {
            TensorPrimitives.Multiply(b, a, d);
        }
        else
        {
            d.Fill(a);
        }
    }
}

/// <summary>Logical operations on booleans (held as 0/1 longs); the float forms are never used.</summary>
public abstract class LogicalOp
{
    public static float Apply(float a, float b) => throw new NotSupportedException();
    public static void RowRow(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => throw new NotSupportedException();
    public static void RowScalar(ReadOnlySpan<float> a, float b, Span<float> d) => throw new NotSupportedException();
    public static void ScalarRow(float a, ReadOnlySpan<float> b, Span<float> d) => throw new NotSupportedException();
}

public sealed class AndOp : LogicalOp, IArithmetic
{
    public static long Apply(long a, long b) => a != 0 && b != 0 ? 1 : 0;
}

public sealed class OrOp : LogicalOp, IArithmetic
{
    public static long Apply(long a, long b) => a != 0 || b != 0 ? 1 : 0;
}

public sealed class XorOp : LogicalOp, IArithmetic
{
    public static long Apply(long a, long b) => (a != 0) != (b != 0) ? 1 : 0;
}

/// <summary>Float rows of an <see cref="IArithmetic"/> operation.</summary>
public readonly struct FloatRows<TOp> : IRowKernel<float, float, float> where TOp : IArithmetic
{
    public static void Row(ReadOnlySpan<float> a, int stepA, ReadOnlySpan<float> b, int stepB, Span<float> d)
    {
        if (stepA == 1 && stepB == 1)
        {
            TOp.RowRow(a, b, d);
        }
        else if (stepA == 1)
        {
            TOp.RowScalar(a, b[0], d);
        }
        else if (stepB == 1)
        {
            TOp.ScalarRow(a[0], b, d);
        }
        else
        {
            d.Fill(TOp.Apply(a[0], b[0]));
        }
    }
}

/// <summary>Integer rows of an <see cref="IArithmetic"/> operation.</summary>
public readonly struct LongRows<TOp> : IRowKernel<long, long, long> where TOp : IArithmetic
{
    public static void Row(ReadOnlySpan<long> a, int stepA, ReadOnlySpan<long> b, int stepB, Span<long> d)
    {
        for (var i = 0; i < d.Length; i++)
        {
            d[i] = TOp.Apply(a[i * stepA], b[i * stepB]);
        }
    }
}
