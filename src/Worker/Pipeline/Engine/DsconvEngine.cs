using System.Diagnostics;
using System.Text.Json;
using DSConvService.Core.Evaluation;
using DSConvService.Core.Graph;
using DSConvService.Core.Imaging;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Reference;
using DSConvService.Core.Reports;
using DSConvService.Core.Tensors;
using SkiaSharp;

namespace DSConvService.Worker.Pipeline.Engine;

/// <summary>
/// INTERIM implementation of the engine seam while the Core facade is being written: DSConv weight
/// quantization by the scalar reference (VQK + KDS l2, simulated in float), both models run by
/// ONNX Runtime. Replaced by calls to DSConvQuantizer / ModelEvaluator / ImagePreprocessor when they land.
/// </summary>
public sealed class DsconvEngine : IQuantizationEngine
{
    private const string PreprocessingKey = "dsconv.preprocessing";
    private const string LabelsKey = "dsconv.labels";

    private static readonly HashSet<string> SupportedOps = new(StringComparer.Ordinal)
    {
        "Conv", "Gemm", "MatMul", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "BatchNormalization", "MaxPool", "AveragePool",
        "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Reshape", "Add", "Sub", "Mul", "Div", "Concat", "Softmax", "Identity",
        "Dropout", "Transpose", "Pad", "Shape", "Gather", "Unsqueeze", "Squeeze", "Constant", "LRN", "Sum", "HardSigmoid", "HardSwish",
    };

    public string Name => "dsconv-reference";

    public ModelInfo Inspect(byte[] model)
    {
        var m = OnnxReader.Load(model);
        var unsupported = m.Graph.Nodes
            .Where(n => !(string.IsNullOrEmpty(n.Domain) || n.Domain == "ai.onnx") || !SupportedOps.Contains(n.OpType))
            .Select(n => string.IsNullOrEmpty(n.Domain) ? n.OpType : $"{n.Domain}.{n.OpType}")
            .Distinct().ToList();
        if (unsupported.Count > 0)
        {
            var first = m.Graph.Nodes.First(n => unsupported.Contains(string.IsNullOrEmpty(n.Domain) ? n.OpType : $"{n.Domain}.{n.OpType}"));
            throw new UnsupportedOperatorException(string.Join(", ", unsupported), first.DisplayName,
                "the engine supports " + string.Join(", ", SupportedOps.Order(StringComparer.Ordinal)));
        }
        var input = m.Graph.RuntimeInputs.FirstOrDefault() ?? throw new InvalidModelException("The model has no input.");
        if (m.Graph.RuntimeInputs.Count() != 1)
        {
            throw new InvalidModelException("The model has more than one input; image models with a single [N,C,H,W] input are supported.");
        }
        var shape = input.Shape ?? [];
        if (shape.Length != 4)
        {
            throw new InvalidModelException($"The model input '{input.Name}' has shape [{string.Join(",", shape)}]; an image input [N,C,H,W] is needed.");
        }
        var parameters = m.Graph.Initializers.Values.Where(t => t.Data is float[]).Sum(t => (long)t.Length);
        return new ModelInfo(input.Name, shape, DefaultPreprocessing(shape), parameters);
    }

    public Tensor Preprocess(byte[] image, PreprocessingOptions p, long maxPixels)
    {
        using var data = SKData.CreateCopy(image);
        using var codec = SKCodec.Create(data) ?? throw new ImageDecodeException("The image is not a PNG or JPEG that can be decoded.");
        if ((long)codec.Info.Width * codec.Info.Height > maxPixels)
        {
            throw new ImageDecodeException($"The image is {codec.Info.Width}x{codec.Info.Height} pixels, more than the limit of {maxPixels}.");
        }
        using var decoded = SKBitmap.Decode(codec, new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul))
            ?? throw new ImageDecodeException("The image data is corrupt.");
        var (sx, sy, sw, sh) = (0f, 0f, (float)decoded.Width, (float)decoded.Height);
        if (p.Resize == ResizeMode.CenterCrop)
        {
            var scale = Math.Max((float)p.Width / decoded.Width, (float)p.Height / decoded.Height);
            sw = p.Width / scale;
            sh = p.Height / scale;
            sx = (decoded.Width - sw) / 2;
            sy = (decoded.Height - sh) / 2;
        }
        using var target = new SKBitmap(new SKImageInfo(p.Width, p.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(target))
        using (var img = SKImage.FromBitmap(decoded))
        {
            canvas.DrawImage(img, SKRect.Create(sx, sy, sw, sh), SKRect.Create(p.Width, p.Height), new SKSamplingOptions(SKFilterMode.Linear), null);
        }
        var c = p.Channels;
        var plane = p.Width * p.Height;
        var x = new float[c * plane];
        var pixels = target.Pixels;
        for (var i = 0; i < plane; i++)
        {
            var px = pixels[i];
            if (c == 1)
            {
                var g = 0.299f * px.Red + 0.587f * px.Green + 0.114f * px.Blue;
                x[i] = (g * p.Scale - p.Mean[0]) / p.Std[0];
                continue;
            }
            var (r, gr, b) = p.ColorMode == ColorMode.Bgr ? ((float)px.Blue, (float)px.Green, (float)px.Red) : (px.Red, px.Green, px.Blue);
            x[i] = (r * p.Scale - p.Mean[0]) / p.Std[0];
            x[plane + i] = (gr * p.Scale - p.Mean[1]) / p.Std[1];
            x[2 * plane + i] = (b * p.Scale - p.Mean[2]) / p.Std[2];
        }
        return Tensor.FromFloats([1, c, p.Height, p.Width], x);
    }

    public Task<QuantizedModel> QuantizeAsync(byte[] model, QuantizationOptions options, IReadOnlyList<Tensor>? calibration,
        PreprocessingOptions preprocessing, IReadOnlyList<string>? labels, IProgress<double>? progress, CancellationToken ct) => Task.Run(() =>
    {
        options.Validate();
        var m = OnnxReader.Load(model);
        var layers = new List<LayerSection>();
        var skipped = new List<string>();
        var candidates = m.Graph.Nodes.Where(n => n.OpType is "Conv" or "Gemm").ToList();
        long quantizedWeights = 0;
        for (var i = 0; i < candidates.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var node = candidates[i];
            if (node.Inputs.Count < 2 || !m.Graph.Initializers.TryGetValue(node.Inputs[1], out var w) || w.Data is not float[] weights ||
                (node.OpType == "Gemm" && node.GetInt("transB", 0) != 1) || (node.OpType == "Conv" && w.Rank != 4))
            {
                skipped.Add(node.DisplayName);
                continue;
            }
            var simulated = SimulateWeights(weights, w.Shape, options.WeightBits, options.BlockSize);
            m.Graph.Initializers[node.Inputs[1]] = Tensor.FromFloats(w.Shape, simulated);
            quantizedWeights += weights.Length;
            layers.Add(new LayerSection
            {
                Name = node.DisplayName,
                Op = node.OpType,
                WeightBits = options.WeightBits,
                BlockSize = options.BlockSize,
                WeightSqnrDb = Sqnr(weights, simulated),
            });
            progress?.Report((i + 1.0) / candidates.Count);
        }
        m.Metadata[PreprocessingKey] = JsonSerializer.Serialize(preprocessing);
        if (labels is not null)
        {
            m.Metadata[LabelsKey] = JsonSerializer.Serialize(labels);
        }
        var parameters = m.Graph.Initializers.Values.Where(t => t.Data is float[]).Sum(t => (long)t.Length);
        return new QuantizedModel
        {
            ArtifactBytes = OnnxWriter.ToBytes(m),
            Layers = layers,
            QuantizedLayers = layers.Count,
            SkippedLayers = skipped,
            Parameters = parameters,
            BitsPerWeight = quantizedWeights == 0 ? 32 : options.WeightBits + 32.0 / options.BlockSize,
            Notes = ["Interim engine: DSConv weights (VQK + KDS l2) simulated in float and run by ONNX Runtime; activations stay float."],
        };
    }, ct);

    public Task<EvaluationResult> EvaluateAsync(byte[] fp32Model, QuantizedModel quantized, IReadOnlyList<Tensor> inputs,
        IReadOnlyList<int>? labels, EvaluationSettings settings, IProgress<double>? progress, CancellationToken ct) => Task.Run(() =>
    {
        using var fp32 = new OrtReference(fp32Model, settings.Threads);
        using var q = new OrtReference(quantized.ArtifactBytes, settings.Threads);
        var metrics = new OutputMetrics();
        for (var i = 0; i < inputs.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var a = fp32.Run(inputs[i])[0].Floats;
            var b = q.Run(inputs[i])[0].Floats;
            metrics.Add(a, b, labels?[i] ?? -1);
            progress?.Report((i + 1.0) / (inputs.Count + 1));
        }
        var threads = settings.Threads > 0 ? settings.Threads : Environment.ProcessorCount;
        var fp32Ms = MedianMs(() => fp32.Run(inputs[0]), settings.LatencyRuns, ct);
        var qMs = MedianMs(() => q.Run(inputs[0]), settings.LatencyRuns, ct);
        progress?.Report(1);
        return new EvaluationResult(metrics.Accuracy(), metrics.Fidelity(), new LatencySection
        {
            Threads = threads,
            Batch = 1,
            Fp32OrtMs = fp32Ms,
            DsconvMs = qMs,
            Speedup = qMs > 0 ? fp32Ms / qMs : 0,
        });
    }, ct);

    public IInferenceModel LoadForInference(byte[] artifact, int threads)
    {
        var m = OnnxReader.Load(artifact);
        var pre = m.Metadata.TryGetValue(PreprocessingKey, out var pj) ? JsonSerializer.Deserialize<PreprocessingOptions>(pj) : null;
        var labels = m.Metadata.TryGetValue(LabelsKey, out var lj) ? JsonSerializer.Deserialize<string[]>(lj) : null;
        var shape = m.Graph.RuntimeInputs.First().Shape ?? [1, 3, 224, 224];
        return new OrtModel(new OrtReference(artifact, threads), pre ?? DefaultPreprocessing(shape), labels);
    }

    private static PreprocessingOptions DefaultPreprocessing(int[] shape)
    {
        var channels = shape.Length == 4 && shape[1] > 0 ? shape[1] : 3;
        var h = shape.Length == 4 && shape[2] > 0 ? shape[2] : 224;
        var w = shape.Length == 4 && shape[3] > 0 ? shape[3] : 224;
        return channels == 1
            ? new PreprocessingOptions { Width = w, Height = h, ColorMode = ColorMode.Gray, Scale = 1f / 255, Mean = [0f], Std = [1f] }
            : new PreprocessingOptions { Width = w, Height = h };
    }

    /// <summary>ŵ = ξ·q per block of B input channels at each (o, y, x) (DESIGN 2.1); depthwise: the taps of a filter.</summary>
    private static float[] SimulateWeights(float[] w, int[] shape, int bits, int blockSize)
    {
        var o = shape[0];
        var cg = shape.Length > 1 ? shape[1] : 1;
        var taps = shape.Length == 4 ? shape[2] * shape[3] : 1;
        var result = new float[w.Length];
        if (cg == 1 && taps > 1)
        {
            var q = new sbyte[taps];
            for (var f = 0; f < o; f++)
            {
                var block = w.AsSpan(f * taps, taps);
                VqkReference.QuantizeBlock(block, bits, q);
                var xi = VqkReference.KdsL2(block, q);
                for (var t = 0; t < taps; t++) result[f * taps + t] = xi * q[t];
            }
            return result;
        }
        var values = new float[blockSize];
        var codes = new sbyte[blockSize];
        for (var f = 0; f < o; f++)
        {
            for (var t = 0; t < taps; t++)
            {
                for (var start = 0; start < cg; start += blockSize)
                {
                    var len = Math.Min(blockSize, cg - start);
                    for (var c = 0; c < len; c++) values[c] = w[(f * cg + start + c) * taps + t];
                    VqkReference.QuantizeBlock(values.AsSpan(0, len), bits, codes.AsSpan(0, len));
                    var xi = VqkReference.KdsL2(values.AsSpan(0, len), codes.AsSpan(0, len));
                    for (var c = 0; c < len; c++) result[(f * cg + start + c) * taps + t] = xi * codes[c];
                }
            }
        }
        return result;
    }

    private static double Sqnr(float[] w, float[] q)
    {
        double s = 0, n = 0;
        for (var i = 0; i < w.Length; i++)
        {
            s += (double)w[i] * w[i];
            var d = (double)w[i] - q[i];
            n += d * d;
        }
        return n == 0 ? 999 : 10 * Math.Log10(s / n);
    }

    private static double MedianMs(Action run, int runs, CancellationToken ct)
    {
        run();
        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            ct.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            run();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[runs / 2];
    }

    private sealed class OrtModel(OrtReference session, PreprocessingOptions preprocessing, IReadOnlyList<string>? labels) : IInferenceModel
    {
        public PreprocessingOptions Preprocessing => preprocessing;
        public IReadOnlyList<string>? Labels => labels;
        public float[] Run(Tensor input) => session.Run(input)[0].Floats;
    }
}
