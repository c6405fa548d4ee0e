using DSConvService.Core.Hardware;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>The code that runs a DSConv layer (see <see cref="DSConvPath.Choose"/>).</summary>
public enum DSConvPathKind
{
    /// <summary>x̂ simulated in float, then the fp32 convolution with ŵ (<see cref="FloatConvPath"/>).</summary>
    Float,

    /// <summary>Integer GEMM, vectors across 32 output pixels, 4-row weight panels (the general path).</summary>
    PixelVector,

    /// <summary>Integer GEMM, vectors across 32 output channels, tiles of 4 valid pixels (<see cref="ChannelVectorPath"/>).</summary>
    ChannelVector,

    /// <summary>1×1 images as rows of a fully connected layer, one dot product per output (<see cref="DenseRowKernel"/>).</summary>
    DenseRow,

    /// <summary>1×1 images as rows of a fully connected layer, 16- or 8-row int16 panels (<see cref="DensePanelKernel"/>, <see cref="DensePanelKernel256"/>).</summary>
    DensePanel,
}

/// <summary>What the path choice reads about a layer: no weights, so a plan can ask before quantizing.</summary>
/// <param name="ExtraBias">The layer has a KDS bias or CDS (adaptation added them).</param>
public readonly record struct DSConvLayerSpec(DSConvFormat Format, int Cg, int KH, int KW, int Groups, bool ExtraBias = false)
{
    public static DSConvLayerSpec Of(DSConvWeights w, int groups) =>
        new(w.Format, w.Cg, w.KH, w.KW, groups, w.KdsBias is not null || w.CdsBias is not null);
}

/// <summary>
/// The code one DSConv layer runs on: <see cref="Kind"/>, the integer micro-kernel (null on the float path),
/// the instruction-set level of its packers, stores and epilogues (<see cref="CpuCapabilities.Level"/>) and why.
/// </summary>
public sealed record DSConvPath(DSConvPathKind Kind, DSConvIsa? Kernel, string Isa, string Reason)
{
    /// <summary>
    /// The one place that picks a layer's path. Without <paramref name="input"/> the answer holds for every
    /// input size except where a shape rule applies (dense rows for 1×1 images, channel vectors for small maps).
    /// </summary>
    /// <param name="requested"><see cref="DSConvIsa.Auto"/> picks the fastest exact kernel <paramref name="caps"/> allow;
    /// an explicit kernel (tests, benchmarks) also keeps tiny-block layers on the integer path.</param>
    /// <param name="channelVector">Null: the cost rule of <see cref="ChannelVectorPath.Worthwhile"/>; true/false force it (tests).</param>
    /// <exception cref="ArgumentException">An explicit kernel that <paramref name="caps"/> do not allow.</exception>
    public static DSConvPath Choose(in DSConvLayerSpec layer, ConvShape? input, CpuCapabilities caps, DSConvIsa requested = DSConvIsa.Auto, bool? channelVector = null)
    {
        var f = layer.Format;
        var floatReason =
            f.FloatActivations ? "float activations (weight-only format)"
            : f.Depthwise ? "depthwise: one block per filter, the direct float kernel"
            : layer.ExtraBias ? "KDS bias or CDS: not in the integer formula"
            // Channel blocks of at most 4 channels (the RGB stem) leave one integer step per block and tap: every
            // product then needs its own float scale, so the float form of the same formula is faster there.
            : requested == DSConvIsa.Auto && Math.Min(f.BlockSize, layer.Cg) <= 4 ? "channel blocks of at most 4 channels: the float form is faster"
            : null;
        if (floatReason is not null)
        {
            return new DSConvPath(DSConvPathKind.Float, null, caps.Level, floatReason);
        }
        var kernel = requested == DSConvIsa.Auto ? DSConvIsaSupport.Best(f.WeightBits, f.MantissaBits, caps) : requested;
        if (!DSConvIsaSupport.IsSupported(kernel, caps))
        {
            throw new ArgumentException($"The {kernel} kernel is not supported with the capabilities {caps.Level}.");
        }
        var level = caps.Level;
        var denseWeights = layer.Groups == 1 && layer.KH == 1 && layer.KW == 1;
        if (input is { } s)
        {
            if (denseWeights && s.H == 1 && s.W == 1 && s.OH == 1 && s.OW == 1 && s.PadTop == 0 && s.PadLeft == 0)
            {
                return kernel switch
                {
                    DSConvIsa.Avx512Int16 or DSConvIsa.Avx512Vnni => new DSConvPath(DSConvPathKind.DensePanel, kernel, level, "1×1 image: fully connected rows, 16-row panels"),
                    DSConvIsa.Avx2 or DSConvIsa.AvxVnni => new DSConvPath(DSConvPathKind.DensePanel, kernel, level, "1×1 image: fully connected rows, 8-row panels"),
                    _ => new DSConvPath(DSConvPathKind.DenseRow, kernel, level, "1×1 image: fully connected rows"),
                };
            }
            if (DSConvIsaSupport.IsAvx512(kernel) && (channelVector ?? ChannelVectorPath.Worthwhile(s)))
            {
                return new DSConvPath(DSConvPathKind.ChannelVector, kernel, level,
                    channelVector is null ? "small map: at least 5 % fewer padded products with vectors across channels" : "forced");
            }
        }
        if (input is not null && PointwiseTilesOnInt16(layer, kernel, requested))
        {
            return new DSConvPath(DSConvPathKind.PixelVector, DSConvIsa.Avx512Int16, level,
                "pointwise over 32-pixel tiles: the int16 kernel stores y from its registers (the VNNI tile goes through a C tile)");
        }
        return new DSConvPath(DSConvPathKind.PixelVector, kernel, level,
            input is null ? "integer GEMM (shape rules apply per input size)" : "integer GEMM over 32-pixel tiles");
    }

    /// <summary>
    /// A 1×1 layer's 32-pixel tiles run the AVX-512 int16 kernel instead of 512-bit VNNI. Its K is short, so a tile is bound by
    /// its stores: the int16 kernel writes y from its registers, while the run-time VNNI code writes a C tile that a second pass
    /// stores (Zen 5, 1 thread, MobileNetV2/EfficientNet pointwise shapes from 16→96 at 112×112 to 576→128 at 28×28: the int16
    /// kernel 10–20 % faster; ResNet18's 3×3 layers, K of 576 and more in each tile's 9 taps, stay faster on VNNI). Both
    /// kernels read the same packed weights and give the same floats bit for bit, so only where the int16 kernel needs no
    /// nibble split (weights of at most 7 bits at 8-bit mantissas), and only when the kernel was not asked for by name.
    /// </summary>
    internal static bool PointwiseTilesOnInt16(in DSConvLayerSpec layer, DSConvIsa kernel, DSConvIsa requested) =>
        requested == DSConvIsa.Auto && kernel == DSConvIsa.Avx512Vnni && layer.KH == 1 && layer.KW == 1
        && !DSConvIsaSupport.NeedsNibbleSplit(DSConvIsa.Avx512Int16, layer.Format.WeightBits, layer.Format.MantissaBits);

    public override string ToString() => $"{Kind} {Kernel?.ToString() ?? "fp32"} {Isa}: {Reason}";
}
