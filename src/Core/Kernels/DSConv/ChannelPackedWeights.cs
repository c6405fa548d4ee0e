namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The weights of <see cref="PackedWeights"/> re-laid out for <see cref="Avx512ChannelKernel"/>, whose vectors
/// run across output channels: per group, panels of <see cref="Rows"/> output channels,
/// <c>Q[group][panel][kstep][row][4]</c> (one 64-byte vector holds 16 rows of one step), ξ and correction
/// <c>[group][panel][kblock][row]</c>; rows beyond Og are zero (weights, ξ and correction), so they sum to 0.
/// Built from a PackedWeights, so K order, virtual blocks of split nibbles and corrections agree by construction.
/// </summary>
public sealed class ChannelPackedWeights
{
    public const int Rows = 32;

    public ChannelPackedWeights(PackedWeights w)
    {
        Groups = w.Groups;
        Og = w.Og;
        Panels = (Og + Rows - 1) / Rows;
        KSteps = w.KSteps;
        KBlocks = w.KBlocks;
        StepsPerBlock = w.StepsPerBlock;
        const int rows4 = PackedWeights.Rows;
        Q = new sbyte[(long)Groups * Panels * KSteps * Rows * 4];
        Xi = new float[Groups * Panels * KBlocks * Rows];
        Correction = new int[Groups * Panels * KBlocks * Rows];
        for (var g = 0; g < Groups; g++)
        {
            for (var og = 0; og < Og; og++)
            {
                var src = g * w.Panels + og / rows4;
                var dst = g * Panels + og / Rows;
                var row4 = og % rows4;
                var row = og % Rows;
                for (var ks = 0; ks < KSteps; ks++)
                {
                    var from = ((long)(src * KSteps + ks) * rows4 + row4) * 4;
                    var to = ((long)(dst * KSteps + ks) * Rows + row) * 4;
                    for (var b = 0; b < 4; b++)
                    {
                        Q[to + b] = w.Q[from + b];
                    }
                }
                for (var kb = 0; kb < KBlocks; kb++)
                {
                    var from = (src * KBlocks + kb) * rows4 + row4;
                    var to = (dst * KBlocks + kb) * Rows + row;
                    Xi[to] = w.Xi[from];
                    Correction[to] = w.Correction[from];
                }
            }
        }
    }

    public int Groups { get; }
    public int Og { get; }
    public int Panels { get; }
    public int KSteps { get; }
    public int KBlocks { get; }
    public int StepsPerBlock { get; }
    public sbyte[] Q { get; }
    public float[] Xi { get; }
    public int[] Correction { get; }

    public long QOffset(int g, int panel) => (long)(g * Panels + panel) * KSteps * Rows * 4;
    public int BlockOffset(int g, int panel) => (g * Panels + panel) * KBlocks * Rows;
}
