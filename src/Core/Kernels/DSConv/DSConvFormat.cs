namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The DSConv number format of one layer (DESIGN 2.1/2.2): weight blocks of <see cref="BlockSize"/>
/// input channels, <see cref="WeightBits"/>-bit VQK integers, BFP activations with
/// <see cref="MantissaBits"/>-bit mantissas (0 = float activations) and <see cref="ExponentBits"/>-bit exponents.
/// <see cref="Depthwise"/>: a weight block is the kh·kw taps of one filter (one KDS per output channel).
/// </summary>
public readonly record struct DSConvFormat(int BlockSize, int WeightBits, int MantissaBits, int ExponentBits, bool Depthwise)
{
    public bool FloatActivations => MantissaBits == 0;

    /// <summary>Weight blocks per filter position for <paramref name="cg"/> input channels per group.</summary>
    public int BlocksPerGroup(int cg) => Depthwise ? 1 : (cg + BlockSize - 1) / BlockSize;

    /// <summary>Activation blocks per group (always channel blocks at one pixel).</summary>
    public int ActivationBlocksPerGroup(int cg) => (cg + BlockSize - 1) / BlockSize;
}
