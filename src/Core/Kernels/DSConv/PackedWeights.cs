namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// Weights packed once for the integer GEMM. K is ordered (tap, channel block, channel), each block
/// padded with zero weights to <see cref="BlockBytes"/> (a multiple of 4), so a DSConv block is a
/// contiguous run of K. Per group, output channels form panels of <see cref="Rows"/>:
/// <c>Q[group][panel][kstep][row][4]</c> (one dword per row and step), with per-(block,row) ξ and
/// correction <c>offset·Σq</c> (the activation mantissas are stored as u = m + offset).
/// </summary>
public sealed class PackedWeights
{
    public const int Rows = 4;

    public PackedWeights(DSConvWeights w, int groups, int activationOffset)
    {
        var cg = w.Cg;
        Groups = groups;
        Og = w.O / groups;
        Panels = (Og + Rows - 1) / Rows;
        Nbg = w.Format.BlocksPerGroup(cg);
        var b = w.Format.BlockSize;
        BlockBytes = (Math.Min(b, cg) + 3) / 4 * 4;
        StepsPerBlock = BlockBytes / 4;
        Taps = w.KH * w.KW;
        KBlocks = Taps * Nbg;
        KSteps = KBlocks * StepsPerBlock;
        Q = new sbyte[groups * Panels * KSteps * Rows * 4];
        Xi = new float[groups * Panels * KBlocks * Rows];
        Correction = new int[groups * Panels * KBlocks * Rows];
        for (var g = 0; g < groups; g++)
        {
            for (var og = 0; og < Og; og++)
            {
                var o = g * Og + og;
                var panel = g * Panels + og / Rows;
                var row = og % Rows;
                var cds = w.CdsScale?[o] ?? 1f;
                for (var t = 0; t < Taps; t++)
                {
                    var ky = t / w.KW;
                    var kx = t % w.KW;
                    for (var j = 0; j < Nbg; j++)
                    {
                        var kb = t * Nbg + j;
                        var sum = 0;
                        var len = Math.Min(b, cg - j * b);
                        for (var i = 0; i < len; i++)
                        {
                            var ci = j * b + i;
                            var q = w.Q[((o * cg + ci) * w.KH + ky) * w.KW + kx];
                            var ks = kb * StepsPerBlock + i / 4;
                            Q[((panel * KSteps + ks) * Rows + row) * 4 + i % 4] = q;
                            sum += q;
                        }
                        Xi[(panel * KBlocks + kb) * Rows + row] = w.Kds[w.KdsIndex(o, j * b, ky, kx)] * cds;
                        Correction[(panel * KBlocks + kb) * Rows + row] = activationOffset * sum;
                    }
                }
            }
        }
    }

    public int Groups { get; }
    public int Og { get; }
    public int Panels { get; }
    public int Nbg { get; }
    public int BlockBytes { get; }
    public int StepsPerBlock { get; }
    public int Taps { get; }
    public int KBlocks { get; }
    public int KSteps { get; }
    public sbyte[] Q { get; }
    public float[] Xi { get; }
    public int[] Correction { get; }

    public int QOffset(int g, int panel) => (g * Panels + panel) * KSteps * Rows * 4;
    public int BlockOffset(int g, int panel) => (g * Panels + panel) * KBlocks * Rows;
}
