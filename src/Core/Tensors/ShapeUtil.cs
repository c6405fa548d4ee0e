namespace DSConvService.Core.Tensors;

public static class ShapeUtil
{
    public static int Size(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException("Shape has an unknown (negative) dimension.");
            }
            n *= d;
        }
        if (n > int.MaxValue)
        {
            throw new ArgumentException("Tensor too large.");
        }
        return (int)n;
    }

    /// <summary>Row-major strides of a shape.</summary>
    public static int[] Strides(ReadOnlySpan<int> shape)
    {
        var s = new int[shape.Length];
        var acc = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /// <summary>Numpy-style broadcast of two shapes; throws when they are incompatible.</summary>
    public static int[] Broadcast(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        var rank = Math.Max(a.Length, b.Length);
        var r = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            var db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
            {
                throw new InvalidOperationException($"Shapes [{string.Join(",", a.ToArray())}] and [{string.Join(",", b.ToArray())}] cannot be broadcast.");
            }
            r[i] = da == 1 ? db : da;
        }
        return r;
    }

    /// <summary>Resolves a possibly negative axis against a rank.</summary>
    public static int Axis(long axis, int rank)
    {
        var a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.Max(rank, 1))
        {
            throw new InvalidOperationException($"Axis {axis} is out of range for rank {rank}.");
        }
        return (int)a;
    }

    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(",", shape.ToArray()) + "]";

    /// <summary>Like <see cref="Format"/> but prints unknown dimensions as "?".</summary>
    public static string FormatDims(ReadOnlySpan<int> shape) =>
        "[" + string.Join(",", shape.ToArray().Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
}
