using DSConvService.Core.Format;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The DSConv number format of one layer as the kernels see it: the layer's <see cref="DSConvSettings"/>
/// (weight blocks of <see cref="BlockSize"/> input channels, <see cref="WeightBits"/>-bit VQK integers,
/// BFP activations with <see cref="MantissaBits"/>-bit mantissas (0 = float activations) and
/// <see cref="ExponentBits"/>-bit exponents) plus <see cref="Depthwise"/>: a weight block is the kh·kw
/// taps of one filter (one KDS per output channel).
/// </summary>
public readonly record struct DSConvFormat(int BlockSize, int WeightBits, int MantissaBits, int ExponentBits, bool Depthwise)
{
    public static DSConvFormat Of(DSConvSettings s, bool depthwise) => new(s.BlockSize, s.WeightBits, s.ActivationBits, s.ExponentBits, depthwise);

    public DSConvSettings Settings => new() { BlockSize = BlockSize, WeightBits = WeightBits, ActivationBits = MantissaBits, ExponentBits = ExponentBits };

    public bool FloatActivations => MantissaBits == 0;

    /// <summary>Weight blocks per filter position for <paramref name="cg"/> input channels per group.</summary>
    public int BlocksPerGroup(int cg) => Depthwise ? 1 : DSConvSettings.BlockCount(cg, BlockSize);

    /// <summary>Activation blocks per group (always channel blocks at one pixel).</summary>
    public int ActivationBlocksPerGroup(int cg) => DSConvSettings.BlockCount(cg, BlockSize);
}
