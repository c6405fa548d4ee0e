using System.Diagnostics;
using DSConvService.Core.Evaluation;
using DSConvService.Core.Execution.Preparation;
using DSConvService.Core.Format;
using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Numerics;
using DSConvService.Core.Passes;
using DSConvService.Core.Errors;
using DSConvService.Core.Quantization.Adaptation;
using DSConvService.Core.Quantization.BiasCorrection;
using DSConvService.Core.Quantization.Reference;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.Core.Quantization.Weights;
using DSConvService.Core.Reports;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Quantization;

/// <summary>
/// The quantizer facade: folds BatchNorm, replaces every Conv (and FC layer) with a constant weight
/// by a DSConv node (DESIGN 2), optionally adapts KDS on calibration inputs (DESIGN 2.4).
/// Progress is reported and cancellation checked between layers.
/// </summary>
public static class DSConvQuantizer
{
    public const string DepthwiseNote =
        "Depthwise rule: for layers with one input channel per group (depthwise, or a 1-channel input), a KDS block is the kh·kw taps of one filter (one scale per output channel).";

    public static QuantizationResult Quantize(
        Model fp32,
        QuantizationOptions options,
        IReadOnlyList<Tensor>? calibration = null,
        IProgress<QuantizationProgress>? progress = null,
        CancellationToken ct = default) => Quantize(fp32, options, calibration, progress, fitWeights: true, ct);

    /// <summary>
    /// The quantized model's structure without fitting any weight: every layer gets its DSConv node with
    /// zero VQK integers and KDS of the right shapes and storage types. Its artifact has the size of the
    /// real one (tensor sizes do not depend on their values); the plan uses it to estimate bytes quickly.
    /// </summary>
    public static QuantizationResult Skeleton(Model fp32, QuantizationOptions options, CancellationToken ct = default) =>
        Quantize(fp32, options with { Adapt = false }, null, null, fitWeights: false, ct);

    private static QuantizationResult Quantize(Model fp32, QuantizationOptions options, IReadOnlyList<Tensor>? calibration,
        IProgress<QuantizationProgress>? progress, bool fitWeights, CancellationToken ct)
    {
        options.Validate();
        var watch = Stopwatch.StartNew();
        var notes = new List<string>();
        // BatchNorm statistics go away with folding: captured first (DESIGN 2.5).
        var batchNorm = options.BiasCorrection ? BatchNormStatistics.Capture(fp32) : null;
        var floatModel = options.FoldBatchNorm ? GraphOptimizer.Optimize(fp32, fuseActivations: false) : ModelCloner.Clone(fp32);
        floatModel.Graph.SortTopologically();
        var quantized = ModelCloner.Clone(floatModel);
        var g = quantized.Graph;

        var (candidates, skipped, skippedNodes) = FindLayers(g, options.QuantizeFullyConnected);
        CheckLayerNames(options, candidates);
        var producers = g.Producers();

        var layers = new List<QuantizedLayer>(candidates.Count);
        var corrected = 0;
        // Each layer's fp32 weight and what quantizing it allocated (its effective weight, twice with bias correction)
        // become garbage when the layer is done; counted as allocated (the codes it keeps are a small share of that).
        var released = new ReleasedMemory();
        for (var i = 0; i < candidates.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var c = candidates[i];
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            progress?.Report(new QuantizationProgress("quantize", i, candidates.Count, c.Node.DisplayName));
            var (kh, kw) = c.WeightShape.Length == 4 ? (c.WeightShape[2], c.WeightShape[3]) : (1, 1);
            var layerOptions = options.ForLayer(c.Node.DisplayName);
            var qw = fitWeights
                ? WeightQuantizer.Quantize(c.Weight, c.OutChannels, c.Channels, kh, kw, c.Depthwise, layerOptions)
                : WeightQuantizer.Placeholder(c.OutChannels, c.Channels, kh, kw, c.Depthwise, layerOptions);
            var bias = c.Bias;
            // The skeleton has no weights to correct for; its biases have the same size either way.
            if (fitWeights && batchNorm is not null
                && batchNorm.ExpectedValue(g, producers, c.Node.Inputs[0]) is { } mean && mean.Length == c.Channels * c.Groups)
            {
                var error = DataFreeBiasCorrection.ExpectedError(c.Weight, qw.Effective(), mean, c.OutChannels, c.Channels, c.Spatial, c.Groups);
                bias = DataFreeBiasCorrection.Corrected(c.Bias, error);
                corrected++;
            }
            var layer = Replace(quantized, c, qw, layerOptions, bias);
            layer.BiasCorrected = !ReferenceEquals(bias, c.Bias);
            if (fitWeights)
            {
                // The skeleton's placeholder codes say nothing of the weight: it reads no weight at all.
                layer.WeightSqnrDb = Metrics.SqnrDb(c.Weight, qw.Effective());
            }
            c.ReleaseWeight();
            released.Released(GC.GetAllocatedBytesForCurrentThread() - allocated);
            layers.Add(layer);
        }
        progress?.Report(new QuantizationProgress("quantize", candidates.Count, candidates.Count));
        quantized.Opsets[DSConvNodes.Domain] = 1;
        g.RemoveUnused();
        FillMacs(floatModel, layers, notes);
        notes.AddRange(StorageNotes(layers));
        if (layers.Count > 0)
        {
            notes.Add(options.Scale == ScaleRule.Mse
                ? FormattableString.Invariant($"VQK scale rule mse: per block, the clip of w* (ratio {VqkReference.ClipRatios[^1]:0.00}..1) that minimises ‖w − ξ·q‖².")
                : "VQK scale rule max (the paper's): the largest magnitude of each block lands on the most negative code.");
        }
        if (batchNorm is not null)
        {
            notes.Add(corrected > 0
                ? $"Data-free bias correction from BatchNorm statistics applied to {corrected} of {layers.Count} layers (those fed by a BatchNorm, directly or through Relu/Clip)."
                : $"Data-free bias correction was on but no layer is fed by a BatchNorm (directly or through Relu/Clip) of the fp32 model; nothing was corrected.");
        }
        if (layers.Any(l => l.Weight.Format.Depthwise))
        {
            notes.Add(DepthwiseNote);
        }
        if (layers.Any(l => !l.Weight.KdsIsFloat16) && options.KdsFloat16)
        {
            notes.Add("KDS kept in float32 for " + string.Join(", ", layers.Where(l => !l.Weight.KdsIsFloat16).Select(l => l.Name))
                + " (float16 would have lost precision on very small scales).");
        }
        if (options.Adapt)
        {
            if (calibration is { Count: > 0 })
            {
                var adapter = new KdsAdapter(floatModel, quantized, layers, options);
                notes.AddRange(adapter.Run(calibration, progress, ct));
                foreach (var layer in layers)
                {
                    var allocated = GC.GetAllocatedBytesForCurrentThread();
                    layer.WeightSqnrDb = Metrics.SqnrDb(layer.Source.Weight, layer.Weight.Effective());
                    layer.Source.ReleaseWeight();
                    released.Released(GC.GetAllocatedBytesForCurrentThread() - allocated);
                }
            }
            else
            {
                notes.Add("Adaptation was requested but no calibration inputs were given; the data-free quantization is used.");
            }
        }
        return new QuantizationResult(quantized, floatModel, options, layers, skipped, notes, CountParameters(fp32), watch.Elapsed.TotalSeconds)
        {
            SkippedNodes = skippedNodes,
            BiasCorrectedLayers = corrected,
        };
    }

    /// <summary>
    /// The names of the layers <see cref="Quantize"/> would quantize in <paramref name="fp32"/> (node names as
    /// the report shows them), in network order; the names <see cref="QuantizationOptions.Layers"/> may use.
    /// <paramref name="optimize"/> false: the model is already <c>GraphOptimizer.Optimize(fp32, fuseActivations: false)</c>.
    /// </summary>
    public static IReadOnlyList<string> QuantizableLayers(Model fp32, bool optimize = true, bool quantizeFullyConnected = true)
    {
        var model = optimize ? GraphOptimizer.Optimize(fp32, fuseActivations: false) : ModelCloner.Clone(fp32);
        model.Graph.SortTopologically();
        return FindLayers(model.Graph, quantizeFullyConnected).Candidates.Select(c => c.Node.DisplayName).ToList();
    }

    /// <summary>Every name of <paramref name="layerNames"/> that is not one of <paramref name="known"/>, as option errors (layers.&lt;name&gt;).</summary>
    public static IReadOnlyList<string> UnknownLayerErrors(IEnumerable<string> layerNames, IReadOnlyCollection<string> known)
    {
        var set = new HashSet<string>(known, StringComparer.Ordinal);
        var preview = string.Join(", ", known.Take(12)) + (known.Count > 12 ? $", … ({known.Count} in all)" : "");
        return layerNames.Where(n => !set.Contains(n))
            .Select(n => $"layers.{n}: the model has no quantizable layer named '{n}' (its layers: {(known.Count == 0 ? "none" : preview)}).")
            .ToList();
    }

    private static void CheckLayerNames(QuantizationOptions options, List<LayerCandidate> candidates)
    {
        if (options.Layers.Count == 0)
        {
            return;
        }
        var errors = UnknownLayerErrors(options.Layers.Keys, candidates.Select(c => c.Node.DisplayName).ToList());
        if (errors.Count > 0)
        {
            throw new InvalidOptionsException(errors);
        }
    }

    private static (List<LayerCandidate> Candidates, List<string> Skipped, List<SkippedLayer> SkippedNodes) FindLayers(Graph.Graph g, bool quantizeFullyConnected)
    {
        var skipped = new List<string>();
        var skippedNodes = new List<SkippedLayer>();
        var candidates = new List<LayerCandidate>();
        var ranks = KnownRanks(g);
        foreach (var n in g.Nodes)
        {
            var c = LayerCandidate.TryCreate(g, n, ranks, out var reason);
            if (c is null)
            {
                if (reason is not null)
                {
                    skipped.Add($"{n.DisplayName} ({n.OpType}): {reason}");
                    skippedNodes.Add(new SkippedLayer(n, reason));
                }
                continue;
            }
            if (c.FullyConnected && !quantizeFullyConnected)
            {
                skipped.Add($"{n.DisplayName} ({n.OpType}): fully connected layers are not quantized (option off)");
                skippedNodes.Add(new SkippedLayer(n, "fully connected layers are not quantized (option off)"));
                continue;
            }
            candidates.Add(c);
        }
        return (candidates, skipped, skippedNodes);
    }

    // Honest size (issue 8): widths that the storage type does not reward, named per storage width.
    private static IEnumerable<string> StorageNotes(List<QuantizedLayer> layers)
    {
        foreach (var group in layers.Where(l => l.Weight.Format.Settings.WastesStorage).GroupBy(l => l.Weight.Format.Settings.StorageBitsPerWeight))
        {
            var names = group.Select(l => $"{l.Name} ({l.Weight.Format.WeightBits}-bit)").ToList();
            var type = group.Key == 4 ? "INT4" : "INT8";
            yield return $"{names.Count} layer(s) are stored as {type} ({group.Key} bits per weight), so their bit width saves no space over {group.Key} bits: "
                + string.Join(", ", names.Take(10)) + (names.Count > 10 ? ", …" : "") + ".";
        }
    }

    private static QuantizedLayer Replace(Model model, LayerCandidate c, DSConvWeights qw, QuantizationOptions options, float[]? bias)
    {
        var g = model.Graph;
        var old = c.Node;
        var baseName = old.DisplayName;
        string Add(string suffix, Tensor t)
        {
            var name = g.UniqueName(baseName + suffix);
            g.Initializers[name] = t;
            return name;
        }
        var qName = Add("_q", new Tensor(options.Format.StorageType, (int[])c.WeightShape.Clone(), qw.Q));
        var kdsShape = DSConvNodes.KdsShape(qw, c.WeightShape, c.FullyConnected);
        var kdsName = Add("_kds", Tensor.FromFloats(kdsShape, qw.Kds));
        var inputs = new List<string> { old.Inputs[0], qName, kdsName };
        inputs.Add(bias is null ? "" : Add("_bias", Tensor.FromFloats([c.OutChannels], (float[])bias.Clone())));
        inputs.Add(qw.KdsBias is null ? "" : Add("_kds_bias", Tensor.FromFloats(kdsShape, qw.KdsBias)));
        inputs.Add(qw.CdsScale is null ? "" : Add("_cds_scale", Tensor.FromFloats([c.OutChannels], qw.CdsScale)));
        inputs.Add(qw.CdsBias is null ? "" : Add("_cds_bias", Tensor.FromFloats([c.OutChannels], qw.CdsBias)));
        while (inputs[^1].Length == 0)
        {
            inputs.RemoveAt(inputs.Count - 1);
        }
        var node = new Node(c.FullyConnected ? DSConvNodes.Gemm : DSConvNodes.Conv, inputs, old.Outputs, old.Name, DSConvNodes.Domain);
        foreach (var (k, v) in c.ConvAttributes)
        {
            node.Attributes[k] = v;
        }
        options.Format.WriteTo(node);
        if (!c.FullyConnected)
        {
            DSConvSettings.WriteDepthwise(node, qw.Format.Depthwise);
        }
        g.Nodes[g.Nodes.IndexOf(old)] = node;
        return new QuantizedLayer { Source = c, Weight = qw, Node = node };
    }

    // Ranks of values known without running: declared shapes, plus outputs of ops whose result is always 2-D.
    private static Dictionary<string, int> KnownRanks(Graph.Graph g)
    {
        var ranks = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var v in g.Inputs.Concat(g.ValueInfos.Values).Concat(g.Outputs))
        {
            if (v.Shape is not null)
            {
                ranks[v.Name] = v.Shape.Length;
            }
        }
        foreach (var n in g.Nodes)
        {
            if (n.OpType is "Flatten" or "Gemm" && n.Outputs.Count > 0)
            {
                ranks[n.Outputs[0]] = 2;
            }
            else if (n.OpType is "MatMul" or "Relu" or "Add" && n.Inputs.Count > 0 && ranks.TryGetValue(n.Inputs[0], out var r))
            {
                ranks[n.Outputs[0]] = r;
            }
        }
        return ranks;
    }

    // MACs need output sizes for the declared input shape (unknown dims = 1): inferred without reading any
    // weight (a run of the fp32 model would load all of them), else from one run on a zero input when an
    // operator's shapes cannot be inferred (a model only ONNX Runtime runs).
    private static void FillMacs(Model floatModel, List<QuantizedLayer> layers, List<string> notes)
    {
        if (layers.Count == 0)
        {
            return;
        }
        try
        {
            var input = floatModel.Graph.RuntimeInputs.Single();
            var shape = (input.Shape ?? throw new InvalidModelException("input shape unknown")).Select(d => d > 0 ? d : 1).ToArray();
            var values = LayerShapes(floatModel, layers, shape);
            foreach (var l in layers)
            {
                var y = values[l.Node.Outputs[0]];
                l.InputShape = values.TryGetValue(l.Node.Inputs[0], out var x) ? x : null;
                l.OutputShape = y;
                long positions = l.Source.FullyConnected ? y[0] : (long)y[0] * y[2] * y[3];
                l.Macs = positions * l.Weight.O * l.Weight.Cg * l.Weight.Spatial;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            notes.Add($"MACs per layer could not be computed: {e.Message}");
        }
    }

    private static Dictionary<string, int[]> LayerShapes(Model floatModel, List<QuantizedLayer> layers, int[] inputShape)
    {
        try
        {
            var descs = ShapeInference.Run(ModelCloner.Clone(floatModel), [inputShape]);
            return descs.ToDictionary(d => d.Key, d => d.Value.Shape, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            using var runner = NetworkRunner.CreateStreamed(floatModel, layers.SelectMany(l => new[] { l.Node.Inputs[0], l.Node.Outputs[0] }));
            return runner.Run(Tensor.Zeros(DataType.Float, inputShape)).ToDictionary(v => v.Key, v => v.Value.Shape, StringComparer.Ordinal);
        }
    }

    private static long CountParameters(Model model) =>
        model.Graph.Initializers.Values.Where(t => t.Type.IsFloat()).Sum(t => (long)t.Length);
}
