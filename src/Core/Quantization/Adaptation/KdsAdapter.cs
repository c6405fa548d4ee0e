using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using DSConvService.Core.Evaluation;
using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.Core.Tensors;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Quantization.Adaptation;

/// <summary>
/// DESIGN 2.4: layer by layer in network order, feed the calibration inputs through the
/// quantized (simulated) network, sample output positions of the layer, keep q fixed and re-fit
/// KDS (and KDS bias when present) per output channel so that the DSConv layer on its BFP input
/// matches the fp32 layer on the same (unquantized) input — ridge pull toward the data-free ξ —
/// then correct the bias by the mean remaining difference. A layer whose held-out error does not
/// improve keeps its data-free values; the whole adaptation is undone if the network's output
/// on the calibration set ends up further from fp32 than without it.
/// </summary>
internal sealed class KdsAdapter(Model floatModel, Model quantized, List<QuantizedLayer> layers, QuantizationOptions options)
{
    private const int MaxSamples = 2048;
    private const double Ridge = 0.02;
    private static readonly bool Trace = Environment.GetEnvironmentVariable("DSCONV_TRACE_ADAPT") == "1";

    public List<string> Run(IReadOnlyList<Tensor> calibration, IProgress<QuantizationProgress>? progress, CancellationToken ct)
    {
        var notes = new List<string>();
        List<Tensor> reference;
        // Streamed runs (one layer's weights and packed kernels at a time, fp32 weights read from their file for the layer):
        // sessions of the whole fp32 model, or of the float simulation with every layer's ŵ, were each as large as the weights.
        using (var fp32 = NetworkRunner.CreateStreamed(floatModel))
        {
            reference = fp32.RunMany(calibration).Select(fp32.Output).ToList();
        }
        var before = OutputError(calibration, reference);
        var snapshot = layers.Select(Snapshot).ToList();
        var kept = new List<string>();
        // A layer's captured inputs, samples and fp32 weight (twice, transposed) are garbage once it is adapted.
        var released = new ReleasedMemory();
        for (var i = 0; i < layers.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var layer = layers[i];
            progress?.Report(new QuantizationProgress("adapt", i, layers.Count, layer.Name));
            var x = layer.Node.Inputs[DSConvNodes.InputX];
            var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            List<Tensor> inputs;
            // Only the layers before this one run: x is all the run is for.
            using (var runner = NetworkRunner.CreateStreamed(DSConvSimulation.ToFloatGraph(quantized, true), [x], capturesOnly: true))
            {
                inputs = runner.RunMany(calibration).Select(r => r[x]).ToList();
            }
            var t1 = System.Diagnostics.Stopwatch.GetTimestamp();
            var samples = LayerSamples.Gather(layer.Source, options, inputs, MaxSamples, seed: i + 1);
            var t2 = System.Diagnostics.Stopwatch.GetTimestamp();
            if (!AdaptLayer(layer, samples))
            {
                kept.Add(layer.Name);
            }
            // The layer's fp32 weight was read for it alone.
            layer.Source.ReleaseWeight();
            released.Released(GC.GetAllocatedBytesForCurrentThread() - allocated);
            if (Trace)
            {
                Console.Error.WriteLine($"adapt {layer.Name}: run {System.Diagnostics.Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds:F0} ms, "
                    + $"samples {System.Diagnostics.Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds:F0} ms, solve {System.Diagnostics.Stopwatch.GetElapsedTime(t2).TotalMilliseconds:F0} ms");
            }
        }
        progress?.Report(new QuantizationProgress("adapt", layers.Count, layers.Count));
        var after = OutputError(calibration, reference);
        if (after > before)
        {
            for (var i = 0; i < layers.Count; i++)
            {
                Restore(layers[i], snapshot[i]);
            }
            notes.Add($"Adaptation was undone: on the {calibration.Count} calibration inputs it moved the output further from fp32 (MSE {before:G4} → {after:G4}).");
            return notes;
        }
        notes.Add($"Adaptation on {calibration.Count} calibration inputs: KDS re-fitted and bias corrected in {layers.Count - kept.Count} of {layers.Count} layers; "
            + $"output MSE against fp32 on the calibration set {before:G4} → {after:G4}."
            + (kept.Count > 0 ? $" Kept data-free (no held-out gain): {string.Join(", ", kept)}." : ""));
        return notes;
    }

    private double OutputError(IReadOnlyList<Tensor> calibration, List<Tensor> reference)
    {
        using var sim = NetworkRunner.CreateStreamed(DSConvSimulation.ToFloatGraph(quantized, true));
        double e = 0;
        var runs = sim.RunMany(calibration);
        for (var i = 0; i < calibration.Count; i++)
        {
            var y = sim.Output(runs[i]).Floats;
            var r = reference[i].Floats;
            for (var k = 0; k < y.Length; k++)
            {
                var d = (double)y[k] - r[k];
                e += d * d;
            }
        }
        return e / calibration.Count;
    }

    private bool AdaptLayer(QuantizedLayer layer, LayerSamples samples)
    {
        var qw = layer.Weight;
        var src = layer.Source;
        var outs = qw.O;
        var groups = samples.Groups;
        var perGroup = outs / groups;
        var nk = qw.Format.Depthwise ? 1 : qw.Nb * qw.Spatial;
        var hasBeta = qw.KdsBias is not null;
        var nu = hasBeta ? 2 * nk : nk;
        var bias = BiasArray(layer);
        var fitCount = samples.Count >= 8 ? samples.Count - samples.Count / 4 : samples.Count;
        var newKds = (float[])qw.Kds.Clone();
        var newBeta = (float[]?)qw.KdsBias?.Clone();
        var newBias = (float[])bias.Clone();
        var errOld = new double[outs];
        var errNew = new double[outs];
        var patch = samples.PatchLength;

        // Weights and integers tap-major [O, S, C] like the patches: a block at one tap is a contiguous run.
        var channels = qw.Cg;
        var taps = qw.Spatial;
        var wT = new float[outs * patch];
        var qT = new float[outs * patch];
        for (var o = 0; o < outs; o++)
        {
            for (var c = 0; c < channels; c++)
            {
                for (var sp = 0; sp < taps; sp++)
                {
                    wT[(o * taps + sp) * channels + c] = src.Weight[(o * channels + c) * taps + sp];
                    qT[(o * taps + sp) * channels + c] = qw.Q[(o * channels + c) * taps + sp];
                }
            }
        }
        var nbPerTap = qw.Format.Depthwise ? 1 : qw.Nb;
        var blockLen = qw.Format.Depthwise ? patch : qw.Format.BlockSize;
        CpuParallel.For(outs, Environment.ProcessorCount, (start, end) =>
        {
            var f = new double[samples.Count * nu];
            var h = new double[samples.Count];
            var t = new double[samples.Count];
            var gram = new double[nu * nu];
            var rhs = new double[nu];
            var u0 = new double[nu];
            var u = new double[nu];
            for (var o = start; o < end; o++)
            {
                var g = o / perGroup;
                var a = qw.CdsScale?[o] ?? 1f;
                var cb = qw.CdsBias?[o] ?? 0f;
                var kBase = qw.Format.Depthwise ? o : o * nk;
                var wRow = wT.AsSpan(o * patch, patch);
                var qRow = qT.AsSpan(o * patch, patch);
                for (var p = 0; p < samples.Count; p++)
                {
                    var xr = samples.RawPatch(p, g);
                    var xq = samples.QuantizedPatch(p, g);
                    var row = f.AsSpan(p * nu, nu);
                    t[p] = (src.Bias?[o] ?? 0f) + (double)TensorPrimitives.Dot(wRow, xr);
                    h[p] = TensorPrimitives.Sum(xq);
                    // KDS entry k = j·S + s (layout [nb, S]); depthwise: one block over the whole patch.
                    for (var sp = 0; sp < (qw.Format.Depthwise ? 1 : taps); sp++)
                    {
                        for (var j = 0; j < nbPerTap; j++)
                        {
                            var at = sp * channels + j * blockLen;
                            var len = Math.Min(blockLen, (qw.Format.Depthwise ? patch : channels) - j * blockLen);
                            var k = j * taps + sp;
                            row[k] = a * (double)TensorPrimitives.Dot(qRow.Slice(at, len), xq.Slice(at, len));
                            if (hasBeta)
                            {
                                row[nk + k] = a * (double)TensorPrimitives.Sum(xq.Slice(at, len));
                            }
                        }
                    }
                }
                for (var k = 0; k < nk; k++)
                {
                    u0[k] = qw.Kds[kBase + k];
                    if (hasBeta)
                    {
                        u0[nk + k] = qw.KdsBias![kBase + k];
                    }
                }
                // Fit on the first samples (the sample order is random), toward r = t − bias − cdsBias·Σx̂.
                Array.Clear(gram);
                Array.Clear(rhs);
                var r = new double[fitCount];
                for (var p = 0; p < fitCount; p++)
                {
                    r[p] = t[p] - bias[o] - cb * h[p];
                }
                ChannelSolver.Accumulate(f, r, fitCount, nu, gram, rhs);
                u0.CopyTo(u, 0);
                if (!ChannelSolver.Solve(gram, rhs, nu, u0, Ridge, u))
                {
                    u0.CopyTo(u, 0);
                }
                for (var k = 0; k < nk; k++)
                {
                    u[k] = qw.KdsIsFloat16 ? (double)(float)(Half)(float)u[k] : (float)u[k];
                    if (hasBeta)
                    {
                        u[nk + k] = (float)u[nk + k];
                    }
                }
                // Bias correction: mean of (quantized − fp32) over the fit samples.
                double meanDiff = 0;
                for (var p = 0; p < fitCount; p++)
                {
                    meanDiff += Dot(f.AsSpan(p * nu, nu), u) + cb * h[p] + bias[o] - t[p];
                }
                var corrected = (float)(bias[o] - meanDiff / fitCount);
                var from = fitCount < samples.Count ? fitCount : 0;
                for (var p = from; p < samples.Count; p++)
                {
                    var row = f.AsSpan(p * nu, nu);
                    var dOld = Dot(row, u0) + cb * h[p] + bias[o] - t[p];
                    var dNew = Dot(row, u) + cb * h[p] + corrected - t[p];
                    errOld[o] += dOld * dOld;
                    errNew[o] += dNew * dNew;
                }
                for (var k = 0; k < nk; k++)
                {
                    newKds[kBase + k] = (float)u[k];
                    if (hasBeta)
                    {
                        newBeta![kBase + k] = (float)u[nk + k];
                    }
                }
                newBias[o] = corrected;
            }
        });
        if (errNew.Sum() >= errOld.Sum())
        {
            return false;
        }
        newKds.CopyTo(qw.Kds, 0);
        newBeta?.CopyTo(qw.KdsBias!, 0);
        newBias.CopyTo(bias, 0);
        return true;
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }
        return s;
    }

    // The layer's bias array as held by the model's initializer (a zero bias is added when the layer has none).
    private float[] BiasArray(QuantizedLayer layer)
    {
        var g = quantized.Graph;
        if (layer.Node.Input(DSConvNodes.InputBias) is { } name)
        {
            var t = g.Initializers[name];
            if (t.Data is float[] arr && t.Type == DataType.Float)
            {
                return arr;
            }
        }
        var added = g.UniqueName(layer.Name + "_bias");
        var bias = new float[layer.Weight.O];
        g.Initializers[added] = Tensor.FromFloats([bias.Length], bias);
        while (layer.Node.Inputs.Count <= DSConvNodes.InputBias)
        {
            layer.Node.Inputs.Add("");
        }
        layer.Node.Inputs[DSConvNodes.InputBias] = added;
        return bias;
    }

    private sealed record State(float[] Kds, float[]? KdsBias, float[] Bias);

    private State Snapshot(QuantizedLayer l) => new((float[])l.Weight.Kds.Clone(), (float[]?)l.Weight.KdsBias?.Clone(), (float[])BiasArray(l).Clone());

    private void Restore(QuantizedLayer l, State s)
    {
        s.Kds.CopyTo(l.Weight.Kds, 0);
        s.KdsBias?.CopyTo(l.Weight.KdsBias!, 0);
        s.Bias.CopyTo(BiasArray(l), 0);
    }
}
