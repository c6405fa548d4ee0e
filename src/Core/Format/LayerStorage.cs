namespace DSConvService.Core.Format;

/// <summary>
/// The size of one quantized layer in the artifact (DESIGN 4), computed from its shape and settings
/// alone, so a plan can state it before anything is quantized.
/// </summary>
public static class LayerStorage
{
    // Protobuf framing of one initializer (name, dims, type, raw-data tags) and of one node (op type,
    // inputs, outputs, attributes): measured on ResNet18 artifacts, a few dozen bytes each.
    private const int TensorOverheadBytes = 24;
    private const int NodeOverheadBytes = 40;

    /// <summary>
    /// Estimated artifact bytes of one layer: the VQK integers (INT4 packs two per byte, INT8 one),
    /// the KDS scales (float16, or float32 when <paramref name="kdsFloat16"/> is false), the float32 bias
    /// when there is one, and the framing of its tensors and of the DequantizeLinear (+ Cast) nodes.
    /// Weight [O, Cg, kh, kw] (FC: [O, K] with kh = kw = 1); depthwise layers have one scale per filter.
    /// Optional extras (KDS bias, CDS) are not counted: data-free runs have none.
    /// </summary>
    public static long EstimatedBytes(DSConvSettings settings, int outChannels, int channelsPerGroup, int kh, int kw,
        bool depthwise, bool hasBias, bool kdsFloat16 = true)
    {
        var weights = (long)outChannels * channelsPerGroup * kh * kw;
        var integers = settings.StorageBitsPerWeight == 4 ? (weights + 1) / 2 : weights;
        var scales = depthwise ? outChannels : (long)outChannels * settings.BlocksPerFilter(channelsPerGroup, depthwise) * kh * kw;
        var bytes = integers + scales * (kdsFloat16 ? 2 : 4) + TensorOverheadBytes * 2 + NodeOverheadBytes * (kdsFloat16 ? 2 : 1);
        if (hasBias)
        {
            bytes += 4L * outChannels + TensorOverheadBytes;
        }
        return bytes;
    }
}
