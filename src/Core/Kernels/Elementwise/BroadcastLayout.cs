namespace DSConvService.Core.Kernels.Elementwise;

/// <summary>
/// Numpy broadcasting of two operands reduced to its simplest loop: adjacent dimensions that
/// broadcast the same way are merged, so the innermost loop is one contiguous row of the output
/// where each operand is either a row (step 1) or a single repeated value (step 0).
/// [N,C,H,W] + [1,C,1,1] becomes rows of H·W with a per-channel scalar.
/// </summary>
public sealed class BroadcastLayout
{
    private readonly int[] _outer;
    private readonly int[] _outerStrideA;
    private readonly int[] _outerStrideB;

    public BroadcastLayout(ReadOnlySpan<int> a, ReadOnlySpan<int> b, ReadOnlySpan<int> output)
    {
        var rank = output.Length;
        var dims = new List<int>(rank);
        var sa = new List<int>(rank);
        var sb = new List<int>(rank);
        var strideA = Strides(a, output);
        var strideB = Strides(b, output);
        for (var i = 0; i < rank; i++)
        {
            if (output[i] == 1)
            {
                continue;
            }
            var k = dims.Count - 1;
            // Merge with the previous kept dimension when both operands continue the same pattern.
            if (k >= 0 && sa[k] == strideA[i] * output[i] && sb[k] == strideB[i] * output[i])
            {
                dims[k] *= output[i];
                sa[k] = strideA[i];
                sb[k] = strideB[i];
                continue;
            }
            dims.Add(output[i]);
            sa.Add(strideA[i]);
            sb.Add(strideB[i]);
        }
        if (dims.Count == 0)
        {
            dims.Add(1);
            sa.Add(0);
            sb.Add(0);
        }
        RowLength = dims[^1];
        StepA = sa[^1];
        StepB = sb[^1];
        _outer = dims.Take(dims.Count - 1).ToArray();
        _outerStrideA = sa.Take(sa.Count - 1).ToArray();
        _outerStrideB = sb.Take(sb.Count - 1).ToArray();
        Rows = 1;
        foreach (var d in _outer)
        {
            Rows *= d;
        }
    }

    /// <summary>Length of the innermost contiguous output row.</summary>
    public int RowLength { get; }
    public int Rows { get; }

    /// <summary>Element step of operand A within a row: 1 (a row) or 0 (one value repeated).</summary>
    public int StepA { get; }
    public int StepB { get; }

    /// <summary>Start offsets of operands A and B for output row <paramref name="row"/>.</summary>
    public (int A, int B) RowOffsets(int row)
    {
        int oa = 0, ob = 0;
        for (var i = _outer.Length - 1; i >= 0 && row > 0; i--)
        {
            var idx = row % _outer[i];
            row /= _outer[i];
            oa += idx * _outerStrideA[i];
            ob += idx * _outerStrideB[i];
        }
        return (oa, ob);
    }

    /// <summary>Element strides of an operand aligned to the output's rank; 0 where it is broadcast.</summary>
    public static int[] Strides(ReadOnlySpan<int> shape, ReadOnlySpan<int> output)
    {
        var rank = output.Length;
        var s = new int[rank];
        var acc = 1;
        for (var i = rank - 1; i >= 0; i--)
        {
            var j = i - (rank - shape.Length);
            var d = j >= 0 ? shape[j] : 1;
            s[i] = d == 1 ? 0 : acc;
            acc *= d;
        }
        return s;
    }
}
