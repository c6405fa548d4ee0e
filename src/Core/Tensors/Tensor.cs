namespace DSConvService.Core.Tensors;

/// <summary>
/// A dense row-major tensor. The element array's type follows <see cref="DataTypeExtensions.Storage"/>:
/// float[] for float types, long[] for wide integers and bool, sbyte[] for Int8/Int4, byte[] for UInt8/UInt4.
/// A deferred tensor (<see cref="Deferred"/>) knows its type and shape and reads its elements on the
/// first use of <see cref="Data"/> (then keeps them), so a model can be checked without its weights.
/// </summary>
public sealed class Tensor
{
    private readonly Lazy<Array>? _deferred;
    private Array? _data;

    // Kept only until the elements are read, so Clone and Reshaped can stay deferred; then dropped with what it captures.
    private Func<Array>? _load;

    public Tensor(DataType type, int[] shape, Array data)
    {
        Type = type;
        Shape = shape;
        _data = data;
        Length = data.Length;
        if (data.Length != ShapeUtil.Size(shape))
        {
            throw new ArgumentException($"Tensor data has {data.Length} elements but shape [{string.Join(",", shape)}] needs {ShapeUtil.Size(shape)}.");
        }
    }

    private Tensor(DataType type, int[] shape, Func<Array> load)
    {
        Type = type;
        Shape = shape;
        Length = ShapeUtil.Size(shape);
        _load = load;
        _deferred = new Lazy<Array>(() => Checked(load()), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>A tensor whose elements <paramref name="load"/> returns when they are first needed.</summary>
    public static Tensor Deferred(DataType type, int[] shape, Func<Array> load) => new(type, shape, load);

    public DataType Type { get; }
    public int[] Shape { get; }
    public Array Data
    {
        get
        {
            if (_data is null)
            {
                _data = _deferred!.Value;
                _load = null;
            }
            return _data;
        }
    }

    /// <summary>
    /// The elements without keeping them: a deferred tensor not read yet reads them from its source again on
    /// every call and stays deferred, so a caller that needs a large weight once (quantizing one layer) does not
    /// keep it alive for the model's lifetime. A loaded tensor returns <see cref="Data"/>.
    /// </summary>
    public Array ReadUncached() => _data is null && _load is { } load && !_deferred!.IsValueCreated ? Checked(load()) : Data;

    /// <summary><see cref="ToFloats"/> of <see cref="ReadUncached"/>.</summary>
    public float[] ToFloatsUncached() => AsFloats(ReadUncached());

    /// <summary>False for a deferred tensor whose elements have not been read yet.</summary>
    public bool IsLoaded => _data is not null || _deferred!.IsValueCreated;

    public int Rank => Shape.Length;
    public int Length { get; }

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
    public Tensor Reshaped(int[] shape) => _load is { } load && !IsLoaded ? Deferred(Type, shape, load) : new(Type, shape, Data);

    /// <summary>An independent copy; a deferred tensor not read yet stays deferred (its source does not change).</summary>
    public Tensor Clone() => _load is { } load && !IsLoaded ? Deferred(Type, (int[])Shape.Clone(), load) : new(Type, (int[])Shape.Clone(), (Array)Data.Clone());

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
    public float[] ToFloats() => AsFloats(Data);

    private static float[] AsFloats(Array data) => data switch
    {
        float[] f => f,
        long[] l => Array.ConvertAll(l, v => (float)v),
        sbyte[] s => Array.ConvertAll(s, v => (float)v),
        byte[] b => Array.ConvertAll(b, v => (float)v),
        _ => throw new InvalidOperationException(),
    };

    private Array Checked(Array data) => data.Length == Length
        ? data
        : throw new InvalidOperationException($"A deferred tensor read {data.Length} elements where shape [{string.Join(",", Shape)}] needs {Length}.");

    public override string ToString() => $"Tensor<{Type}>[{string.Join(",", Shape)}]";
}
