using System.Globalization;
using DSConvService.Core.Evaluation;
using DSConvService.Core.Numerics;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.Core.Format;
using DSConvService.Core.Graph;
using DSConvService.Core.Imaging;
using DSConvService.Core.Reports;
using DSConvService.Core.Tensors;

using DSConvService.Core.Quantization;

namespace DSConvService.Core.Policy;

/// <summary>The inputs the policy may look at, and where they came from ("calibration" or "synthetic").</summary>
public sealed record SelectionInputs(IReadOnlyList<Tensor> Inputs, string Kind)
{
    public const string Calibration = "calibration", Synthetic = "synthetic";

    /// <summary>Smooth-noise images this many, when there are no calibration images.</summary>
    public const int SyntheticCount = 16;

    /// <summary>The calibration images when there are any, else smooth-noise images made from the preprocessing.</summary>
    public static SelectionInputs For(IReadOnlyList<Tensor>? calibration, PreprocessingOptions preprocessing) =>
        calibration is { Count: > 0 } c
            ? new SelectionInputs(c, Calibration)
            : new SelectionInputs(SyntheticInputs.SmoothNoise(preprocessing, SyntheticCount), Synthetic);
}

/// <summary>What the policy chose: the options with every layer's format, the quantization it measured, and its report section.</summary>
public sealed record PolicyOutcome(QuantizationOptions Options, QuantizationResult Result, PolicySection Section, IReadOnlyList<string> Notes);

/// <summary>
/// Chooses weight bits and block size per layer for a <see cref="QuantizationTarget"/> (issue 8, item 4),
/// looking only at the selection inputs. Each layer's sensitivity is the output error of the float
/// model with that layer alone at the cheapest format; a layer's error at another format is its
/// sensitivity scaled by its weight error energy, and errors of layers add. Greedy: all layers start
/// at the cheapest format and the upgrade with the most error removed per byte is applied until the
/// predicted cosine meets the target (or, with only a size target, while it fits). The choice is then
/// quantized for real and measured; the prediction is rescaled by measured / predicted error and the
/// greedy pass repeated, a few rounds at most. The wide candidate is 7 bits, not 8: both are stored as
/// INT8, but where the CPU has no VNNI 7-bit weights times 8-bit mantissas fit one u8·s8 vpmaddubsw pair
/// (2·255·64 ≤ 32767), while 8-bit ones need int16×int16 products (Avx2WideKernel; nibble halves on AVX-512):
/// on a Zen 3, 73 against 54 GMAC/s (4-bit: 86; bench `dsconv kernel`). An explicit 8 stays 8. 5 and 6 bits
/// are not candidates: they cost the bytes of 7.
/// </summary>
public static class PrecisionPolicy
{
    /// <summary>Candidate (weight bits, block size), cheapest first.</summary>
    public static readonly IReadOnlyList<(int WeightBits, int BlockSize)> Formats = [(4, 32), (4, 16), (7, 32)];

    private const int MaxMeasuredRounds = 3;

    /// <summary>
    /// The policy aims on the selection inputs at this fraction of the error the target allows: synthetic
    /// (or few calibration) images stand in for the user's data, and ResNet18's photos showed a worst image
    /// well below the selection mean when the choice met the target only just.
    /// </summary>
    public const double SelectionMargin = 0.8;

    /// <summary>The cosine the policy aims at on the selection inputs for a target cosine.</summary>
    public static double Aim(double cosine) => 1 - (1 - cosine) * SelectionMargin;

    /// <param name="fp32">The fp32 model as read from its file.</param>
    /// <param name="fp32Bytes">Size of the fp32 file (compression is measured against it).</param>
    /// <param name="options">The run's options with <see cref="QuantizationOptions.Target"/> set.</param>
    /// <param name="selection">The only inputs the policy runs: calibration images or synthetic ones.</param>
    /// <param name="calibration">Adaptation inputs, when the run adapts (the same images as the selection).</param>
    public static PolicyOutcome Choose(Model fp32, long fp32Bytes, QuantizationOptions options, SelectionInputs selection,
        IReadOnlyList<Tensor>? calibration, PreprocessingOptions? preprocessing, string[]? labels, int threads,
        IProgress<double>? progress = null, CancellationToken ct = default)
    {
        var target = options.Target ?? throw new ArgumentException("The options have no target.", nameof(options));
        if (selection.Inputs.Count == 0)
        {
            throw new ArgumentException("The policy needs at least one selection input.", nameof(selection));
        }
        var formats = Formats.Select(f => options.Format with { WeightBits = f.WeightBits, BlockSize = f.BlockSize }).ToArray();
        var dataFree = options with { Target = null, Adapt = false, Format = formats[0], Layers = new Dictionary<string, DSConvSettings>() };
        QuantizationResult? cheapest = DSConvQuantizer.Quantize(fp32, dataFree, null, null, ct);
        // Each layer's price list reads its fp32 weight and quantizes it twice more: all garbage once the layer is priced.
        var released = new ReleasedMemory();
        var costs = new List<LayerCosts>(cheapest.LayerDetails.Count);
        foreach (var layer in cheapest.LayerDetails)
        {
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            costs.Add(LayerCosts.For(layer, formats, dataFree));
            released.Released(GC.GetAllocatedBytesForCurrentThread() - allocated);
        }
        var cheapestBytes = ArtifactBytes(cheapest, preprocessing, labels);
        var fixedBytes = cheapestBytes - costs.Sum(c => c.Bytes[0]);
        var budget = target.MinCompression is { } m ? fp32Bytes / m : double.PositiveInfinity;
        progress?.Report(0.1);

        // Every run of the float model is streamed (one layer's weights and packed kernels at a time, the weights read
        // from their file for the layer): a session holding the whole fp32 model per sensitivity was as large as the
        // weights, and more. The same operators compute the same values, so the choice is that of whole-model sessions.
        var floatModel = cheapest.FloatModel;
        List<float[]> expected;
        using (var reference = NetworkRunner.CreateStreamed(floatModel, threads: threads))
        {
            expected = Outputs(reference, selection.Inputs, ct);
        }
        for (var i = 0; i < costs.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            using (new FloatWeightSwap(floatModel, costs[i].Layer!.Source, costs[i].Layer!.Weight.Effective()))
            using (var runner = NetworkRunner.CreateStreamed(floatModel, threads: threads))
            {
                costs[i].Sensitivity = Math.Max(0, 1 - MeanCosine(expected, Outputs(runner, selection.Inputs, ct)));
            }
            progress?.Report(0.1 + 0.5 * (i + 1) / costs.Count);
        }

        // Rescales the summed layer errors to what the real quantization (BFP activations included) shows.
        var scale = 1.0;
        var cheapestCosine = Measure(cheapest, expected, selection.Inputs, threads, ct);
        var summed = costs.Sum(c => c.Error(0));
        if (summed > 0 && cheapestCosine < 1)
        {
            scale = (1 - cheapestCosine) / summed;
        }
        // The cheapest quantization's codes are not needed any more unless a round chooses it (then it is quantized again,
        // the same way, so the same result): the trials hold one quantization beside the best so far, not three.
        foreach (var c in costs)
        {
            c.Layer = null;
        }
        cheapest = null;
        floatModel = null;
        if (fp32Bytes >= released.Threshold)
        {
            released.Collect();
        }

        var measured = new List<Trial>();
        for (var round = 0; round < MaxMeasuredRounds; round++)
        {
            var choice = Greedy(costs, fixedBytes, budget, target.Cosine is { } wanted ? Aim(wanted) : null, scale);
            if (measured.Any(t => t.Choice.SequenceEqual(choice)))
            {
                break;
            }
            var predicted = 1 - scale * Error(costs, choice);
            var layerOptions = options with
            {
                Target = null,
                Layers = costs.Select((c, i) => (c.Name, formats[choice[i]])).ToDictionary(p => p.Name, p => p.Item2, StringComparer.Ordinal),
            };
            var adapted = options.Adapt && calibration is { Count: > 0 };
            var result = adapted
                ? DSConvQuantizer.Quantize(fp32, layerOptions, calibration, null, ct)
                : Array.TrueForAll(choice, f => f == 0) ? DSConvQuantizer.Quantize(fp32, dataFree, null, null, ct)
                : DSConvQuantizer.Quantize(fp32, layerOptions with { Adapt = false }, null, null, ct);
            var (cosine, bytes) = !adapted && Array.TrueForAll(choice, f => f == 0)
                ? (cheapestCosine, cheapestBytes)
                : (Measure(result, expected, selection.Inputs, threads, ct), ArtifactBytes(result, preprocessing, labels));
            measured.Add(new Trial(choice, layerOptions, result, predicted, cosine, bytes, Meets(target, cosine, bytes, fp32Bytes)));
            // Only the best trial so far can be the best in the end (a new trial either beats it or not): the others' codes go.
            var leader = Best(measured, target, budget);
            foreach (var t in measured)
            {
                if (!ReferenceEquals(t, leader) && t.Result is not null)
                {
                    t.Result = null;
                    if (fp32Bytes >= released.Threshold)
                    {
                        released.Collect();
                    }
                }
            }
            progress?.Report(0.6 + 0.4 * (round + 1) / MaxMeasuredRounds);
            if (target.Cosine is null || 1 - predicted <= 0 || 1 - cosine <= 0)
            {
                break;
            }
            scale *= (1 - cosine) / (1 - predicted);
        }

        var best = Best(measured, target, budget);
        var chosenResult = best.Result ?? throw new InvalidOperationException("The best trial's quantization was dropped.");
        var notes = new List<string> { Describe(target, selection, best, fp32Bytes, budget, costs, fixedBytes) };
        var section = new PolicySection
        {
            Target = new PolicyTarget(target.Cosine, target.MinCompression),
            SelectionInputs = selection.Kind,
            PredictedCosine = best.Predicted,
            MeasuredCosine = best.Cosine,
            CompressionRatio = (double)fp32Bytes / best.Bytes,
            Met = best.Met,
            Layers = costs.Select((c, i) => new PolicyLayer
            {
                Name = c.Name,
                Sensitivity = c.Sensitivity,
                WeightBits = formats[best.Choice[i]].WeightBits,
                BlockSize = formats[best.Choice[i]].BlockSize,
            }).ToList(),
        };
        return new PolicyOutcome(best.Options with { Adapt = options.Adapt }, chosenResult, section, notes);
    }

    private sealed record Trial(int[] Choice, QuantizationOptions Options, QuantizationResult? Result, double Predicted, double Cosine, long Bytes, bool Met)
    {
        /// <summary>The quantization, until a better trial makes it garbage.</summary>
        public QuantizationResult? Result { get; set; } = Result;
    }

    /// <summary>The smallest file that meets everything; else the best cosine within the size; else the smallest file.</summary>
    private static Trial Best(List<Trial> measured, QuantizationTarget target, double budget) =>
        measured.Where(t => t.Met && (target.Cosine is not { } c || t.Cosine >= Aim(c))).OrderBy(t => t.Bytes).FirstOrDefault()
            ?? measured.Where(t => t.Met).OrderBy(t => t.Bytes).FirstOrDefault()
            ?? measured.Where(t => t.Bytes <= budget).OrderByDescending(t => t.Cosine).FirstOrDefault()
            ?? measured.OrderBy(t => t.Bytes).First();

    /// <summary>The artifact's size, counted as it is written (the bytes of <see cref="QuantizationResult.ToArtifactBytes"/>, not held).</summary>
    private static long ArtifactBytes(QuantizationResult result, PreprocessingOptions? preprocessing, string[]? labels) =>
        result.ArtifactLength(preprocessing, labels);

    /// <summary>Format index per layer: cheapest everywhere, then the best error-per-byte upgrades while they fit and the cosine is not met.</summary>
    internal static int[] Greedy(IReadOnlyList<LayerCosts> costs, double fixedBytes, double budget, double? cosine, double scale)
    {
        var choice = new int[costs.Count];
        var bytes = fixedBytes + costs.Sum(c => c.Bytes[0]);
        while (cosine is null || 1 - scale * Error(costs, choice) < cosine)
        {
            var (layer, format, ratio) = (-1, -1, 0.0);
            for (var i = 0; i < costs.Count; i++)
            {
                var c = costs[i];
                for (var f = 0; f < c.Bytes.Length; f++)
                {
                    var extra = c.Bytes[f] - c.Bytes[choice[i]];
                    var gain = c.Error(choice[i]) - c.Error(f);
                    if (extra <= 0 || gain <= 0 || bytes + extra > budget)
                    {
                        continue;
                    }
                    if (gain / extra > ratio)
                    {
                        (layer, format, ratio) = (i, f, gain / extra);
                    }
                }
            }
            if (layer < 0)
            {
                break;
            }
            bytes += costs[layer].Bytes[format] - costs[layer].Bytes[choice[layer]];
            choice[layer] = format;
        }
        return choice;
    }

    private static double Error(IReadOnlyList<LayerCosts> costs, int[] choice) => costs.Select((c, i) => c.Error(choice[i])).Sum();

    private static bool Meets(QuantizationTarget target, double cosine, long bytes, long fp32Bytes) =>
        (target.Cosine is not { } c || cosine >= c) && (target.MinCompression is not { } m || (double)fp32Bytes / bytes >= m);

    private static double Measure(QuantizationResult result, List<float[]> expected, IReadOnlyList<Tensor> inputs, int threads, CancellationToken ct)
    {
        using var runner = NetworkRunner.CreateStreamed(result.Quantized, threads: threads);
        return MeanCosine(expected, Outputs(runner, inputs, ct));
    }

    private static List<float[]> Outputs(NetworkRunner runner, IReadOnlyList<Tensor> inputs, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        return runner.RunMany(inputs).SelectMany(r => OutputComparison.Rows(runner.Output(r))).ToList();
    }

    private static double MeanCosine(List<float[]> expected, List<float[]> actual) =>
        expected.Select((e, i) => Metrics.Cosine(e, actual[i])).Average();

    private static string Describe(QuantizationTarget target, SelectionInputs selection, Trial best, long fp32Bytes, double budget,
        List<LayerCosts> costs, double fixedBytes)
    {
        var c = CultureInfo.InvariantCulture;
        var upgraded = best.Choice.Count(f => f != 0);
        var aim = target.Cosine is { } aimed
            ? string.Create(c, $" Aimed at cosine {Aim(aimed):F4} on the selection inputs, a margin for images they do not resemble.")
            : "";
        var text = string.Create(c,
            $"Precision policy: sensitivities on {selection.Inputs.Count} {selection.Kind} inputs; {upgraded} of {costs.Count} layers above {Formats[0].WeightBits}-bit / block {Formats[0].BlockSize}; " +
            $"predicted cosine {best.Predicted:F4}, measured {best.Cosine:F4} on the selection inputs, {(double)fp32Bytes / best.Bytes:F2}x smaller than fp32. " +
            $"Wide layers get {Formats[^1].WeightBits} bits: stored as INT8 like 8 bits, but without VNNI their products fit the u8·s8 multiply that 8-bit ones overflow (faster per MAC).{aim}");
        if (best.Met)
        {
            return text;
        }
        var reasons = new List<string>();
        if (target.Cosine is { } cos && best.Cosine < cos)
        {
            var allEight = fixedBytes + costs.Sum(x => x.Bytes[^1]);
            reasons.Add(allEight > budget
                ? string.Create(c, $"cosine {cos} cannot be met within {target.MinCompression}x: the best measured within that size is {best.Cosine:F4} (every layer at its widest candidate, {Formats[^1].WeightBits} bits, would need {(double)fp32Bytes / allEight:F2}x)")
                : string.Create(c, $"cosine {cos} was not reached: {best.Cosine:F4} measured with the most precise choice tried (activation quantization and layers the quantizer keeps in float limit it)"));
        }
        if (target.MinCompression is { } m && (double)fp32Bytes / best.Bytes < m)
        {
            reasons.Add(string.Create(c, $"{m}x cannot be met: even every layer at the cheapest format gives {(double)fp32Bytes / (fixedBytes + costs.Sum(x => x.Bytes[0])):F2}x (the layers kept in float and the graph take {fixedBytes:N0} bytes)"));
        }
        return text + " Target not met: " + string.Join("; ", reasons) + ".";
    }
}
