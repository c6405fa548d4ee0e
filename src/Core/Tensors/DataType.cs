namespace DSConvService.Core.Tensors;

/// <summary>Element types, numbered as ONNX's TensorProto.DataType so they convert by cast.</summary>
public enum DataType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    BFloat16 = 16,
    UInt4 = 21,
    Int4 = 22,
}

/// <summary>
/// How each element type is held in memory. The executor computes in two domains only:
/// float (Float, Float16, Double, BFloat16) and integer (everything else but the 8/4-bit types,
/// held widened as long). 8- and 4-bit types keep their own small arrays because quantized
/// weights must stay small.
/// </summary>
public enum StorageKind
{
    Float,
    Int64,
    SByte,
    Byte,
}

public static class DataTypeExtensions
{
    public static StorageKind Storage(this DataType type) => type switch
    {
        DataType.Float or DataType.Float16 or DataType.Double or DataType.BFloat16 => StorageKind.Float,
        DataType.Int8 or DataType.Int4 => StorageKind.SByte,
        DataType.UInt8 or DataType.UInt4 => StorageKind.Byte,
        DataType.Int16 or DataType.UInt16 or DataType.Int32 or DataType.UInt32 or DataType.Int64
            or DataType.UInt64 or DataType.Bool => StorageKind.Int64,
        _ => throw new NotSupportedException($"Tensor element type {type} is not supported."),
    };

    /// <summary>Whether the executor can hold tensors of this element type (<see cref="Storage"/> does not throw).</summary>
    public static bool IsSupported(this DataType type) => type is DataType.Float or DataType.Float16 or DataType.Double
        or DataType.BFloat16 or DataType.Int8 or DataType.Int4 or DataType.UInt8 or DataType.UInt4 or DataType.Int16
        or DataType.UInt16 or DataType.Int32 or DataType.UInt32 or DataType.Int64 or DataType.UInt64 or DataType.Bool;

    public static bool IsFloat(this DataType type) => type.Storage() == StorageKind.Float;
}
