using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution;

/// <summary>
/// The plan-time arena of an <see cref="ExecutionPlan"/>: a value's buffer goes back to the pool after
/// the last step that reads it, and a later value of the same type and element count takes it. So a
/// chain of layers cycles through a few buffers that stay in cache instead of writing fresh memory at
/// every layer (a mobile network at batch 8 otherwise streams hundreds of MB per inference).
/// Only exact sizes are shared because a <see cref="Tensor"/>'s array is exactly its element count.
/// </summary>
internal sealed class BufferPool
{
    private readonly Dictionary<(DataType Type, int Length), Stack<Array>> _free = [];

    public long AllocatedElements { get; private set; }

    public Tensor Take(DataType type, int[] shape)
    {
        var length = ShapeUtil.Size(shape);
        if (_free.TryGetValue((type, length), out var stack) && stack.Count > 0)
        {
            return new Tensor(type, shape, stack.Pop());
        }
        AllocatedElements += length;
        return Tensor.Zeros(type, shape);
    }

    public void Return(Tensor tensor)
    {
        var key = (tensor.Type, tensor.Length);
        if (!_free.TryGetValue(key, out var stack))
        {
            _free[key] = stack = new Stack<Array>();
        }
        stack.Push(tensor.Data);
    }
}
