namespace DSConvService.Core.Kernels.Movement;

/// <summary>A data-movement action generic over the element type, so one implementation serves every storage kind.</summary>
public interface IArrayAction
{
    void Run<T>(T[] source, T[] destination) where T : unmanaged;
}

public static class TypedArrays
{
    /// <summary>Calls <paramref name="action"/> with the typed element arrays of a tensor's storage (float, long, sbyte, byte).</summary>
    public static void Dispatch<TAction>(Array source, Array destination, TAction action) where TAction : IArrayAction
    {
        switch (source)
        {
            case float[] f:
                action.Run(f, (float[])destination);
                break;
            case long[] l:
                action.Run(l, (long[])destination);
                break;
            case sbyte[] s:
                action.Run(s, (sbyte[])destination);
                break;
            case byte[] b:
                action.Run(b, (byte[])destination);
                break;
            default:
                throw new NotSupportedException($"Element storage {source.GetType().Name} is not supported.");
        }
    }

    /// <summary>A scalar tensor value converted to the element type T of a storage array (for fill values).</summary>
    public static T Convert<T>(double value) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return (T)(object)(float)value;
        }
        if (typeof(T) == typeof(long))
        {
            return (T)(object)(long)value;
        }
        if (typeof(T) == typeof(sbyte))
        {
            return (T)(object)(sbyte)value;
        }
        return (T)(object)(byte)value;
    }
}
