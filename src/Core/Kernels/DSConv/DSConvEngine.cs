using DSConvService.Core.Kernels.DSConv.Reference;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// Runs one DSConv layer: y = act(conv(x̂, ŵ) + bias) (DESIGN 2.3).
/// </summary>
public sealed class DSConvEngine
{
    public DSConvEngine(DSConvWeights weights, int groups, FusedActivation activation)
    {
        Weights = weights;
        Groups = groups;
        Activation = activation;
    }

    public DSConvWeights Weights { get; }
    public int Groups { get; }
    public FusedActivation Activation { get; }

    public long ScratchFloats(in ConvShape s) => 0;

    public void Run(float[] x, in ConvShape s, float[] y, float[] scratch, int threads)
    {
        var r = DSConvReference.Run(x.AsSpan(0, s.N * s.C * s.InPixels), s, Weights, Activation);
        r.CopyTo(y, 0);
    }
}
