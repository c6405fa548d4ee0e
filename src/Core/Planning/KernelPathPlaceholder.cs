using DSConvService.Core.Kernels.DSConv;

namespace DSConvService.Core.Planning;

/// <summary>
/// Placeholder until the front door's kernel-path function lands: the kernel a DSConv layer will run
/// on, computed from its weight the way <see cref="DSConvEngine"/> decides (float path for float
/// activations, the depthwise rule, KDS bias, CDS and blocks of at most 4 channels; else integer).
/// </summary>
public static class KernelPathPlaceholder
{
    public static KernelPath For(DSConvWeights w)
    {
        var f = w.Format;
        if (f.FloatActivations)
        {
            return new(KernelPath.Float, "float activations (activationBits 0): the dequantized weights run on the fp32 convolution");
        }
        if (f.Depthwise)
        {
            return new(KernelPath.Float, "depthwise rule (one input channel per group): one scale per filter, run as float");
        }
        if (w.KdsBias is not null)
        {
            return new(KernelPath.Float, "KDS bias (ŵ = ξ·q + β) has no integer kernel");
        }
        if (w.CdsBias is not null)
        {
            return new(KernelPath.Float, "CDS (per-channel scale and shift) has no integer kernel");
        }
        if (Math.Min(f.BlockSize, w.Cg) <= 4)
        {
            return new(KernelPath.Float, $"blocks of {Math.Min(f.BlockSize, w.Cg)} channel(s) (e.g. an RGB stem): one integer step per block, the float form is faster");
        }
        return new(KernelPath.Integer, $"{w.Format.WeightBits}-bit weights × {f.MantissaBits}-bit BFP activations, integer dot products per block of {f.BlockSize}");
    }
}
