namespace DSConvService.Core.Tensors;

/// <summary>
/// A dense row-major tensor. The element array's type follows <see cref="DataTypeExtensions.Storage"/>:
/// float[] for float types, long[] for wide integers and bool, sbyte[] for Int8/Int4, byte[] for UInt8/UInt4.
/// </summary>
public sealed class Tensor
{
    public Tensor(DataType type, int[] shape, Array data)
    {
        Type = type;
        Shape = shape;
        Data = data;
        if (data.Length != ShapeUtil.Size(shape))
        {
            throw new ArgumentException($"Tensor data has {data.Length} elements but shape [{string.Join(",", shape)}] needs {ShapeUtil.Size(shape)}.");
        }
    }

    public DataType Type { get; }
    public int[] Shape { get; }
    public Array Data { get; }

    public int Rank => Shape.Length;
    public int Length => Data.Length;

    public float[] Floats => Data as float[] ?? throw new InvalidOperationException($"Tensor of {Type} holds no float data.");
    public long[] Longs => Data as long[] ?? throw new InvalidOperationException($"Tensor of {Type} holds no integer data.");
    public sbyte[] SBytes => Data as sbyte[] ?? throw new InvalidOperationException($"Tensor of {Type} holds no sbyte data.");
    public byte[] Bytes => Data as byte[] ?? throw new InvalidOperationException($"Tensor of {Type} holds no byte data.");

    public static Tensor Zeros(DataType type, int[] shape)
    {
        var n = ShapeUtil.Size(shape);
        Array data = type.Storage() switch
        {
            StorageKind.Float => new float[n],
            StorageKind.Int64 => new long[n],
            StorageKind.SByte => new sbyte[n],
            _ => new byte[n],
        };
        return new Tensor(type, (int[])shape.Clone(), data);
    }

    public static Tensor FromFloats(int[] shape, float[] data) => new(DataType.Float, shape, data);
    public static Tensor FromLongs(int[] shape, long[] data) => new(DataType.Int64, shape, data);
    public static Tensor Scalar(float value) => new(DataType.Float, [], new[] { value });
    public static Tensor Scalar(long value) => new(DataType.Int64, [], new[] { value });

    /// <summary>The same data seen with another shape of equal size (no copy).</summary>
    public Tensor Reshaped(int[] shape) => new(Type, shape, Data);

    public Tensor Clone() => new(Type, (int[])Shape.Clone(), (Array)Data.Clone());

    /// <summary>Integer elements widened to long, whatever the storage (for shape-like inputs).</summary>
    public long[] ToLongs() => Data switch
    {
        long[] l => l,
        float[] f => Array.ConvertAll(f, v => (long)v),
        sbyte[] s => Array.ConvertAll(s, v => (long)v),
        byte[] b => Array.ConvertAll(b, v => (long)v),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>Elements as float, whatever the storage.</summary>
    public float[] ToFloats() => Data switch
    {
        float[] f => f,
        long[] l => Array.ConvertAll(l, v => (float)v),
        sbyte[] s => Array.ConvertAll(s, v => (float)v),
        byte[] b => Array.ConvertAll(b, v => (float)v),
        _ => throw new InvalidOperationException(),
    };

    public override string ToString() => $"Tensor<{Type}>[{string.Join(",", Shape)}]";
}
