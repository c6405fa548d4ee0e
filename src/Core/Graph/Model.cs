namespace DSConvService.Core.Graph;

/// <summary>An ONNX model: the main graph plus the envelope (versions, opsets, metadata).</summary>
public sealed class Model
{
    public Model(Graph graph) => Graph = graph;

    public Graph Graph { get; }
    public long IrVersion { get; set; } = 8;
    public string ProducerName { get; set; } = "DSConvService";
    public string ProducerVersion { get; set; } = "1.0";

    /// <summary>Opset version per domain ("" is the default ONNX domain).</summary>
    public Dictionary<string, long> Opsets { get; } = new(StringComparer.Ordinal) { [""] = 13 };

    /// <summary>Free key/value metadata (ONNX metadata_props).</summary>
    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    public long DefaultOpset => Opsets.TryGetValue("", out var v) ? v : Opsets.GetValueOrDefault("ai.onnx", 13);
}
