using DSConvService.Core.Onnx;
using DSConvService.Core.Onnx.Structure;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace DSConvService.Core.Evaluation;

/// <summary>
/// The fp32 model as the evaluation opens it in ONNX Runtime: from bytes (a model already in memory), or
/// from a file through an <see cref="ExternalDataCopy"/>, so that ONNX Runtime maps the large weights from
/// disk instead of holding a copy of them. Disposing deletes the copy's files.
/// </summary>
public sealed class Fp32Reference : IDisposable
{
    private readonly byte[]? _bytes;
    private readonly ExternalDataCopy? _copy;

    private Fp32Reference(byte[]? bytes, ExternalDataCopy? copy, HashSet<string> nodeOutputs)
    {
        _bytes = bytes;
        _copy = copy;
        NodeOutputs = nodeOutputs;
    }

    /// <summary>
    /// Above this many bytes of weights in the data file, the sessions run without graph optimizations: ONNX
    /// Runtime's Conv+BatchNorm fusion (level BASIC) writes fused weights to its heap and its NCHWc layout
    /// transform (level ALL) a reordered copy of every Conv weight (measured: ResNet18 29 MB anonymous at no
    /// optimizations, 104 MB at BASIC, 172 MB at ALL; 243 MiB of Conv weights without BatchNorm 22 MB at none or
    /// EXTENDED, 522 MB at ALL). Without them the weights stay mapped from the file; runs take about 1.4-1.7x as long.
    /// </summary>
    public const long FullOptimizationMaxBytes = 64L << 20;

    /// <summary>The optimization level of every session of this model (reference outputs, layer outputs, latency).</summary>
    public GraphOptimizationLevel Optimization =>
        _copy is not null && _copy.DataBytes > FullOptimizationMaxBytes ? GraphOptimizationLevel.ORT_DISABLE_ALL : GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>What the report says when <see cref="Optimization"/> is not ALL.</summary>
    public string OptimizationNote => FormattableString.Invariant(
        $"ONNX Runtime ran the fp32 model without graph optimizations, so that it maps the {(_copy?.DataBytes ?? 0) / 1048576.0:F0} MiB of weights from disk instead of writing fused or reordered copies of them to memory; its latency (fp32OrtMs, and so the speedup) is that of the unoptimized graph, about 1.4-1.7x slower than with all optimizations on the models measured.");

    /// <summary>Names of the values the main graph's nodes compute (what <see cref="Open"/> may add as outputs).</summary>
    public IReadOnlySet<string> NodeOutputs { get; }

    public static Fp32Reference FromBytes(byte[] model)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        return new Fp32Reference(model, null, Outputs(proto.Graph));
    }

    /// <summary>Copies <paramref name="path"/> into scratch files named <paramref name="scratchPrefix"/>-… (see <see cref="ExternalDataCopy.Write"/>).</summary>
    public static Fp32Reference FromFile(string path, string scratchPrefix, CancellationToken ct = default)
    {
        var copy = ExternalDataCopy.Write(path, scratchPrefix, ct: ct);
        try
        {
            return new Fp32Reference(null, copy, Outputs(copy.Graph));
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A session on the model, with <paramref name="extraOutputs"/> (names of <see cref="NodeOutputs"/>) returned
    /// after the model's own outputs. <paramref name="optimization"/> as <see cref="OrtReference"/>.
    /// </summary>
    public OrtReference Open(int threads, IReadOnlyCollection<string>? extraOutputs = null,
        GraphOptimizationLevel optimization = GraphOptimizationLevel.ORT_ENABLE_ALL)
    {
        if (_copy is not null)
        {
            return new OrtReference(_copy.WriteSkeleton(extraOutputs), threads, optimization: optimization);
        }
        var bytes = extraOutputs is { Count: > 0 } ? ExternalDataCopy.WithOutputs(_bytes!, extraOutputs) : _bytes!;
        return new OrtReference(bytes, threads, optimization: optimization);
    }

    private static HashSet<string> Outputs(GraphProto? graph) =>
        graph is null ? [] : graph.Node.SelectMany(n => n.Output).Where(o => o.Length > 0).ToHashSet(StringComparer.Ordinal);

    public void Dispose() => _copy?.Dispose();
}
