using DSConvService.Core.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = DSConvService.Core.Tensors.Tensor;

namespace DSConvService.Core.Onnx;

/// <summary>
/// ONNX Runtime as the trusted fp32 reference: runs an ONNX file on float inputs with a fixed
/// thread count (intra-op), sequential execution, all graph optimisations. <c>allowSpinning: false</c> makes its
/// intra-op threads block at once after a run instead of spin-waiting (ONNX Runtime's default), which matters
/// when another engine runs right after it on the same cores, as in an interleaved benchmark.
/// </summary>
public sealed class OrtReference : IDisposable
{
    private readonly InferenceSession _session;

    /// <summary>Opens the file itself, so external data beside it (see <see cref="Structure.ExternalDataCopy"/>) is found and mapped.</summary>
    public OrtReference(string modelPath, int threads = 0, bool allowSpinning = true, GraphOptimizationLevel optimization = GraphOptimizationLevel.ORT_ENABLE_ALL)
    {
        using var options = Options(threads, allowSpinning, optimization);
        _session = new InferenceSession(modelPath, options);
        InputNames = _session.InputMetadata.Keys.ToArray();
        OutputNames = _session.OutputMetadata.Keys.ToArray();
    }

    public OrtReference(byte[] model, int threads = 0, bool allowSpinning = true, GraphOptimizationLevel optimization = GraphOptimizationLevel.ORT_ENABLE_ALL)
    {
        using var options = Options(threads, allowSpinning, optimization);
        _session = new InferenceSession(model, options);
        InputNames = _session.InputMetadata.Keys.ToArray();
        OutputNames = _session.OutputMetadata.Keys.ToArray();
    }

    private static Microsoft.ML.OnnxRuntime.SessionOptions Options(int threads, bool allowSpinning, GraphOptimizationLevel optimization)
    {
        var options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            IntraOpNumThreads = threads > 0 ? threads : Environment.ProcessorCount,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = optimization,
        };
        if (!allowSpinning)
        {
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }
        return options;
    }

    public IReadOnlyList<string> InputNames { get; }
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>Declared input shapes (-1 for symbolic dimensions).</summary>
    public int[] InputShape(int index) => _session.InputMetadata[InputNames[index]].Dimensions;

    /// <summary>Runs the model on float inputs (in input order) and returns every output as float.</summary>
    public Tensor[] Run(params Tensor[] inputs)
    {
        var feeds = new List<NamedOnnxValue>(inputs.Length);
        for (var i = 0; i < inputs.Length; i++)
        {
            feeds.Add(NamedOnnxValue.CreateFromTensor(InputNames[i], new DenseTensor<float>(inputs[i].Floats, inputs[i].Shape)));
        }
        using var results = _session.Run(feeds);
        return results.Select(r =>
        {
            var t = r.AsTensor<float>();
            var shape = t.Dimensions.ToArray();
            return new Tensor(DataType.Float, shape, t.ToArray());
        }).ToArray();
    }

    public void Dispose() => _session.Dispose();
}
