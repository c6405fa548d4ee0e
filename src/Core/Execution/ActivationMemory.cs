using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution;

/// <summary>
/// What running a model once needs for its values, from the shapes alone: an execution plan allocates
/// every computed value once (no buffer reuse) plus one scratch buffer shared by all operators, so
/// the plan's size is the sum of the values plus the largest scratch. The walk also checks every
/// node's input shapes (the operators' own InferOutputs), so a graph that cannot run is refused here.
/// </summary>
public sealed record ActivationMemory(long PlanBytes, long ScratchBytes, string LargestTensor, int[] LargestShape, long LargestBytes, string LargestNode)
{
    /// <summary>
    /// Infers every value's shape for the declared input shapes (unknown dimensions taken as 1) and
    /// adds up their sizes. Throws <see cref="InvalidModelException"/> naming the node whose shapes do not fit.
    /// </summary>
    public static ActivationMemory Estimate(Model model)
    {
        var graph = model.Graph;
        graph.SortTopologically();
        var descs = new Dictionary<string, TensorDesc>(StringComparer.Ordinal);
        foreach (var (name, t) in graph.Initializers)
        {
            descs[name] = TensorDesc.Of(t);
        }
        long total = 0, scratchFloats = 0, largestBytes = -1;
        (string Tensor, int[] Shape, string Node) largest = ("", [], "");
        foreach (var input in graph.RuntimeInputs)
        {
            var type = input.Type == DataType.Undefined ? DataType.Float : input.Type;
            var shape = Preparation.ShapeInference.DefaultShape(input);
            descs[input.Name] = new TensorDesc(type, shape);
            Add(input.Name, type, shape, "(model input)");
        }
        var context = new OperatorContext(model) { ShapesOnly = true };
        foreach (var node in graph.Nodes)
        {
            var inputs = node.Inputs.Select(n => n.Length == 0 ? null : descs.GetValueOrDefault(n)
                ?? throw new InvalidModelException($"Node {node} reads '{n}', which is not computed before it.")).ToArray();
            TensorDesc[] outputs;
            try
            {
                var op = OperatorRegistry.Create(node, context);
                outputs = op.InferOutputs(inputs);
                scratchFloats = Math.Max(scratchFloats, op.ScratchFloats(inputs));
            }
            catch (Exception e) when (e is not InvalidModelException)
            {
                throw new InvalidModelException($"{node.OpType} node '{node.DisplayName}': its input shapes " +
                    $"({string.Join(", ", inputs.Select(i => i is null ? "none" : ShapeUtil.Format(i.Shape)))}) do not fit ({e.Message}).");
            }
            for (var k = 0; k < node.Outputs.Count && k < outputs.Length; k++)
            {
                if (node.Outputs[k].Length == 0)
                {
                    continue;
                }
                descs[node.Outputs[k]] = outputs[k];
                if (!outputs[k].IsConstant)
                {
                    Add(node.Outputs[k], outputs[k].Type, outputs[k].Shape, node.DisplayName);
                }
            }
        }
        var scratch = SafeMultiply(scratchFloats, sizeof(float));
        return new ActivationMemory(SafeAdd(total, scratch), scratch, largest.Tensor, largest.Shape, largestBytes, largest.Node);

        void Add(string name, DataType type, int[] shape, string producer)
        {
            var bytes = SafeMultiply(Elements(shape), ElementBytes(type));
            total = SafeAdd(total, bytes);
            if (bytes > largestBytes)
            {
                largestBytes = bytes;
                largest = (name, (int[])shape.Clone(), producer);
            }
        }
    }

    /// <summary>Bytes per element as the executor holds it (see <see cref="StorageKind"/>).</summary>
    private static long ElementBytes(DataType type) => type.Storage() switch
    {
        StorageKind.Float => sizeof(float),
        StorageKind.Int64 => sizeof(long),
        _ => 1,
    };

    private static long Elements(int[] shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            n = SafeMultiply(n, Math.Max(d, 0));
        }
        return n;
    }

    // Crafted shapes can overflow 64 bits; saturating keeps the comparison with a limit meaningful.
    private static long SafeMultiply(long a, long b) => a != 0 && b > long.MaxValue / a ? long.MaxValue : a * b;

    private static long SafeAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
}
