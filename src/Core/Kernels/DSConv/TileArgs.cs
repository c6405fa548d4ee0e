namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// One micro-kernel call: C[4][32] = Σ_blocks ξ[blk,r] · S[blk,p] · (Σ_(k in blk) q[r,k]·u[k,p] − corr[blk,r]).
/// Activations u (bytes) of k-step ks, pixel p sit at A + AOffsets[ks] + 4p (4 K per dword); column
/// scales of block kb, pixel p at S + SOffsets[kb] + p. Weights: one dword per (step, row), 16 bytes per step.
/// </summary>
public unsafe struct TileArgs
{
    public const int Pixels = 32;

    public byte* A;
    public int* AOffsets;
    public float* S;
    public int* SOffsets;
    public sbyte* Q;
    public float* Xi;
    public int* Correction;

    /// <summary>
    /// Per (block, row) the int16 pair −offset·Σq (lanes of channels 0–1 and 2–3 of a step) that
    /// <see cref="Avx2FoldedKernel"/> starts its accumulators at; null for the other kernels.
    /// </summary>
    public int* CorrectionPairs;

    /// <summary>Bytes between consecutive steps of one block in A, or 0 (<see cref="AOffsets"/> per step); read by the folded and one-step kernels.</summary>
    public int AStride;
    public int KBlocks;
    public int StepsPerBlock;

    /// <summary>Steps that may be summed in int16 before widening (int16 kernels only).</summary>
    public int Int16Steps;

    /// <summary>Output tile [4 rows][32 pixels], overwritten.</summary>
    public float* C;
}
