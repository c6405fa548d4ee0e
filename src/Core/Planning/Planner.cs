using DSConvService.Core.Execution;
using DSConvService.Core.Imaging;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization;
using DSConvService.Core.Policy;

namespace DSConvService.Core.Planning;

/// <summary>
/// The plan of a quantization job, answered without running one (issue 8, item 6). Without a target
/// nothing is fitted: the quantizer builds the model's structure with placeholder weights
/// (<see cref="DSConvQuantizer.Skeleton"/>) and the artifact of that structure is written, so the
/// estimated size is the real one up to KDS that must stay float32 (very small scales). With a target
/// the precision policy runs on synthetic inputs (a plan has no images) and the plan shows its choice.
/// </summary>
public static class Planner
{
    public static ModelPlan Plan(byte[] fp32Bytes, QuantizationOptions options, PreprocessingOptions preprocessing,
        string[]? labels = null, int threads = 0, CancellationToken ct = default)
    {
        options.Validate();
        return Plan(OnnxReader.Load(fp32Bytes), fp32Bytes.LongLength, options, preprocessing, labels, threads, ct);
    }

    /// <summary>The plan of a model already read (e.g. structurally, its weights read as they are used); <paramref name="fp32FileBytes"/> is its file's size.</summary>
    public static ModelPlan Plan(Graph.Model fp32, long fp32FileBytes, QuantizationOptions options, PreprocessingOptions preprocessing,
        string[]? labels = null, int threads = 0, CancellationToken ct = default)
    {
        options.Validate();
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        QuantizationResult result;
        var sensitivity = new Dictionary<string, double>(StringComparer.Ordinal);
        if (options.Target is not null)
        {
            var outcome = PrecisionPolicy.Choose(fp32, fp32FileBytes, options with { Adapt = false },
                SelectionInputs.For(null, preprocessing), null, preprocessing, labels, threads, null, ct);
            result = outcome.Result;
            foreach (var l in outcome.Section.Layers)
            {
                sensitivity[l.Name] = l.Sensitivity;
            }
        }
        else
        {
            result = DSConvQuantizer.Skeleton(fp32, options, ct);
        }
        var artifactBytes = result.ToArtifactBytes(preprocessing, labels).LongLength;
        ct.ThrowIfCancellationRequested();

        var order = result.FloatModel.Graph.Nodes.Select((n, i) => (n, i))
            .Where(p => p.n.Outputs.Count > 0)
            .GroupBy(p => p.n.Outputs[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().i, StringComparer.Ordinal);
        int Position(Graph.Node n) => n.Outputs.Count > 0 && order.TryGetValue(n.Outputs[0], out var i) ? i : int.MaxValue;

        var rows = new List<(int Position, PlanLayer Layer)>();
        foreach (var l in result.LayerDetails)
        {
            var w = l.Weight;
            rows.Add((Position(l.Node), new PlanLayer
            {
                Name = l.Name,
                Op = l.Source.Node.OpType,
                InputShape = l.InputShape,
                OutputShape = l.OutputShape,
                Macs = l.Macs,
                Parameters = w.Q.Length,
                Settings = w.Format.Settings,
                Storage = w.Format.Settings.StorageType.ToString().ToUpperInvariant(),
                KernelPath = LayerKernelPath.For(l),
                EstimatedBytes = (w.StorageBits() + 7) / 8 + 4L * (l.Source.Bias?.Length ?? 0),
                Sensitivity = sensitivity.TryGetValue(l.Name, out var s) ? s : null,
            }));
        }
        foreach (var skipped in result.SkippedNodes)
        {
            var n = skipped.Node;
            var weight = n.Input(1) is { } wName && result.FloatModel.Graph.Initializers.TryGetValue(wName, out var t) ? t : null;
            rows.Add((Position(n), new PlanLayer
            {
                Name = n.DisplayName,
                Op = n.OpType,
                Parameters = weight?.Length ?? 0,
                KernelPath = new KernelPath(KernelPath.Float, "not quantized: " + skipped.Reason),
                EstimatedBytes = weight is null ? 0 : 4L * weight.Length,
            }));
        }
        return new ModelPlan
        {
            Layers = rows.OrderBy(r => r.Position).Select(r => r.Layer).ToList(),
            Totals = new PlanTotals
            {
                EstimatedBytes = artifactBytes,
                CompressionRatio = artifactBytes == 0 ? 0 : (double)fp32FileBytes / artifactBytes,
                BitsPerWeight = result.BitsPerWeight,
            },
            UnsupportedOperators = OperatorRegistry.FindUnsupported(result.Quantized.Graph),
        };
    }
}
