namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// One call of <see cref="Avx512ChannelKernel"/>: C[p][r] = Σ_blocks ξ[blk,r] · S_p[blk] · (Σ_(k in blk) q[r,k]·u_p[k] − corr[blk,r])
/// for 4 output pixels p and 32 output channels r. Activations of pixel p, k-step ks sit at Ap + AOffsets[ks]
/// (one dword: 4 K of that pixel), its column scale of block kb at Sp + SOffsets[kb] — the offsets of
/// <see cref="TileArgs"/>, with a pixel's own base in place of a run of 32 pixels.
/// </summary>
public unsafe struct ChannelTileArgs
{
    public const int Pixels = 4;

    public byte* A0;
    public byte* A1;
    public byte* A2;
    public byte* A3;
    public float* S0;
    public float* S1;
    public float* S2;
    public float* S3;
    public int* AOffsets;
    public int* SOffsets;

    /// <summary>Weights of one <see cref="ChannelPackedWeights"/> panel: [kstep][32 rows][4].</summary>
    public sbyte* Q;

    /// <summary>ξ and correction of the panel: [kblock][32 rows].</summary>
    public float* Xi;
    public int* Correction;
    public int KBlocks;
    public int StepsPerBlock;

    /// <summary>Steps that may be summed in int16 before widening.</summary>
    public int Int16Steps;

    /// <summary>Output tile [4 pixels][32 rows], overwritten.</summary>
    public float* C;
}
