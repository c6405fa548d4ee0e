using DSConvService.Core.Kernels.DSConv.Reference;
using DSConvService.Core.Quantization.Reference;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Quantization.Adaptation;

/// <summary>
/// Sampled output positions of one layer: for each, the receptive field of the layer's input as
/// the quantized network produced it (raw x for the fp32 layer, BFP x̂ for the DSConv layer).
/// Patches are laid out tap-major [S, C_in of the group] (so a channel block at one tap is
/// contiguous), zero outside the image.
/// </summary>
internal sealed class LayerSamples
{
    public required int Count { get; init; }
    public required int PatchLength { get; init; }

    /// <summary>Raw input patches, [Count, groups, PatchLength].</summary>
    public required float[] Raw { get; init; }

    /// <summary>BFP input patches (equal to Raw in weight-only mode).</summary>
    public required float[] Quantized { get; init; }
    public required int Groups { get; init; }

    public ReadOnlySpan<float> RawPatch(int sample, int group) => Raw.AsSpan((sample * Groups + group) * PatchLength, PatchLength);
    public ReadOnlySpan<float> QuantizedPatch(int sample, int group) => Quantized.AsSpan((sample * Groups + group) * PatchLength, PatchLength);

    public static LayerSamples Gather(LayerCandidate layer, QuantizationOptions options, IReadOnlyList<Tensor> inputs, int maxSamples, int seed)
    {
        var fc = layer.FullyConnected;
        var groups = fc ? 1 : layer.Groups;
        var cg = layer.Channels;
        var s = layer.Spatial;
        var patch = cg * s;
        var shapes = inputs.Select(t => t.Shape).ToArray();
        var kh = fc ? 1 : layer.WeightShape[2];
        var kw = fc ? 1 : layer.WeightShape[3];
        long[] strides = [1, 1], dil = [1, 1], pads = [0, 0, 0, 0];
        if (!fc)
        {
            strides = layer.ConvAttributes["strides"].Ints;
            dil = layer.ConvAttributes["dilations"].Ints;
            pads = layer.ConvAttributes["pads"].Ints;
        }
        // Every (tensor, row, oy, ox) is a candidate position.
        var positions = new List<(int T, int N, int Y, int X)>();
        var all = new List<(int, int, int, int)>();
        for (var t = 0; t < inputs.Count; t++)
        {
            var sh = shapes[t];
            if (fc)
            {
                for (var n = 0; n < sh[0]; n++)
                {
                    all.Add((t, n, 0, 0));
                }
                continue;
            }
            var oh = (int)((sh[2] + pads[0] + pads[2] - dil[0] * (kh - 1) - 1) / strides[0] + 1);
            var ow = (int)((sh[3] + pads[1] + pads[3] - dil[1] * (kw - 1) - 1) / strides[1] + 1);
            for (var n = 0; n < sh[0]; n++)
            {
                for (var y = 0; y < oh; y++)
                {
                    for (var x = 0; x < ow; x++)
                    {
                        all.Add((t, n, y, x));
                    }
                }
            }
        }
        var rng = new Random(seed);
        if (all.Count > maxSamples)
        {
            // Partial Fisher-Yates: a uniform sample without replacement.
            for (var i = 0; i < maxSamples; i++)
            {
                var j = rng.Next(i, all.Count);
                (all[i], all[j]) = (all[j], all[i]);
            }
            all.RemoveRange(maxSamples, all.Count - maxSamples);
        }
        positions.AddRange(all);

        var bfp = new float[inputs.Count][];
        for (var t = 0; t < inputs.Count; t++)
        {
            var sh = shapes[t];
            var (h, w) = sh.Length == 4 ? (sh[2], sh[3]) : (1, 1);
            bfp[t] = options.ActivationBits > 0
                ? BfpReference.Simulate(inputs[t].Floats, sh[0], sh[1], h, w, groups, options.BlockSize, options.ActivationBits, options.ExponentBits)
                : inputs[t].Floats;
        }
        var raw = new float[positions.Count * groups * patch];
        var quant = new float[raw.Length];
        for (var i = 0; i < positions.Count; i++)
        {
            var (t, n, oy, ox) = positions[i];
            var sh = shapes[t];
            var src = inputs[t].Floats;
            var srcQ = bfp[t];
            var c = sh[1];
            var (h, w) = sh.Length == 4 ? (sh[2], sh[3]) : (1, 1);
            for (var g = 0; g < groups; g++)
            {
                var dst = (i * groups + g) * patch;
                for (var ci = 0; ci < cg; ci++)
                {
                    var ch = g * cg + ci;
                    for (var ky = 0; ky < kh; ky++)
                    {
                        var iy = (int)(oy * strides[0] - pads[0] + ky * dil[0]);
                        for (var kx = 0; kx < kw; kx++)
                        {
                            var ix = (int)(ox * strides[1] - pads[1] + kx * dil[1]);
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                            {
                                continue;
                            }
                            var at = ((n * c + ch) * h + iy) * w + ix;
                            var k = dst + (ky * kw + kx) * cg + ci;
                            raw[k] = src[at];
                            quant[k] = srcQ[at];
                        }
                    }
                }
            }
        }
        return new LayerSamples { Count = positions.Count, PatchLength = patch, Raw = raw, Quantized = quant, Groups = groups };
    }
}
