namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// Weights packed once for the integer GEMM. K is ordered (tap, channel block, channel), each block
/// padded with zero weights to <see cref="BlockBytes"/> (a multiple of 4), so a DSConv block is a
/// contiguous run of K. Per group, output channels form panels of <see cref="Rows"/>:
/// <c>Q[group][panel][kstep][row][4]</c> (one dword per row and step), with per-(block,row) ξ and
/// correction <c>offset·Σq</c> (the activation mantissas are stored as u = m + offset).
/// <para>With <see cref="SplitNibbles"/> (8-bit weights on the int16 kernels), q = 16·qh + ql with
/// ql, qh ∈ [−8, 8]: each block becomes two virtual blocks over the same activations, (ql, ξ) and
/// (qh, 16ξ), both within the int16 bound of 4-bit weights. Virtual block 2·kb + h reads source block kb.</para>
/// <para>With <see cref="WideWeights"/> (8-bit weights on <see cref="Avx2WideKernel"/>) every q is stored as an int16
/// (two bytes, little-endian): one qword per (step, row) holding channels (0, 2, 1, 3) of the step (even pair, odd pair),
/// <see cref="Q"/> twice as long.</para>
/// </summary>
public sealed class PackedWeights
{
    public const int Rows = 4;

    // Where channel i of a step goes among the 4 int16 of a wide (step, row): even pair first, then the odd pair.
    private static readonly int[] WideLane = [0, 2, 1, 3];

    public PackedWeights(DSConvWeights w, int groups, int activationOffset, bool splitNibbles = false, bool wideWeights = false)
    {
        if (splitNibbles && wideWeights)
        {
            throw new ArgumentException("Nibble split and int16 weights are two answers to the same overflow; pick one.");
        }
        var cg = w.Cg;
        Groups = groups;
        Og = w.O / groups;
        Panels = (Og + Rows - 1) / Rows;
        Nbg = w.Format.BlocksPerGroup(cg);
        var b = w.Format.BlockSize;
        BlockBytes = (Math.Min(b, cg) + 3) / 4 * 4;
        StepsPerBlock = BlockBytes / 4;
        Taps = w.KH * w.KW;
        SplitNibbles = splitNibbles;
        WideWeights = wideWeights;
        var width = wideWeights ? 2 : 1;
        SourceBlocks = Taps * Nbg;
        KBlocks = SourceBlocks * (splitNibbles ? 2 : 1);
        KSteps = KBlocks * StepsPerBlock;
        Q = new sbyte[groups * Panels * KSteps * Rows * 4 * width];
        Xi = new float[groups * Panels * KBlocks * Rows];
        Correction = new int[groups * Panels * KBlocks * Rows];
        CorrectionPairs = new int[Correction.Length];
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
                        var xi = w.Kds[w.KdsIndex(o, j * b, ky, kx)] * cds;
                        var len = Math.Min(b, cg - j * b);
                        for (var h = 0; h < (splitNibbles ? 2 : 1); h++)
                        {
                            var kb = (t * Nbg + j) * (splitNibbles ? 2 : 1) + h;
                            var sum = 0;
                            var pairSums = (Low: 0, High: 0);
                            for (var i = 0; i < len; i++)
                            {
                                var ci = j * b + i;
                                var q = (int)w.Q[((o * cg + ci) * w.KH + ky) * w.KW + kx];
                                if (splitNibbles)
                                {
                                    var low = ((q + 8) & 15) - 8;
                                    q = h == 0 ? low : (q - low) >> 4;
                                }
                                var ks = kb * StepsPerBlock + i / 4;
                                var e = ((panel * KSteps + ks) * Rows + row) * 4 + i % 4;
                                if (wideWeights)
                                {
                                    e = e - i % 4 + WideLane[i % 4];
                                    Q[2 * e] = (sbyte)(q & 0xFF);
                                    Q[2 * e + 1] = (sbyte)(q >> 8);
                                }
                                else
                                {
                                    Q[e] = (sbyte)q;
                                }
                                sum += q;
                                if (i % 4 < 2)
                                {
                                    pairSums.Low += q;
                                }
                                else
                                {
                                    pairSums.High += q;
                                }
                            }
                            Xi[(panel * KBlocks + kb) * Rows + row] = h == 0 ? xi : 16f * xi;
                            Correction[(panel * KBlocks + kb) * Rows + row] = activationOffset * sum;
                            CorrectionPairs[(panel * KBlocks + kb) * Rows + row] =
                                (ushort)(-activationOffset * pairSums.Low) | (-activationOffset * pairSums.High << 16);
                        }
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
    public bool SplitNibbles { get; }

    /// <summary>q stored as int16 (for <see cref="Avx2WideKernel"/>); <see cref="QOffset"/> counts bytes either way.</summary>
    public bool WideWeights { get; }

    /// <summary>Blocks of the real K (taps · blocks per group); <see cref="KBlocks"/> counts virtual ones.</summary>
    public int SourceBlocks { get; }
    public int KBlocks { get; }
    public int KSteps { get; }
    public sbyte[] Q { get; }
    public float[] Xi { get; }
    public int[] Correction { get; }

    /// <summary>
    /// Per (block, row) two int16 (mod 2^16): −offset·Σq over channels 0–1 and over channels 2–3 of the block's
    /// steps, the start of <see cref="Avx2FoldedKernel"/>'s vpmaddubsw lanes (low, high half of each pixel's dword).
    /// </summary>
    public int[] CorrectionPairs { get; }

    public int QOffset(int g, int panel) => (g * Panels + panel) * KSteps * Rows * 4 * (WideWeights ? 2 : 1);
    public int BlockOffset(int g, int panel) => (g * Panels + panel) * KBlocks * Rows;
}
