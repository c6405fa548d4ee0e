namespace DSConvService.Core.Kernels.Gemm;

/// <summary>Instruction set of an fp32 GEMM micro-kernel.</summary>
public enum GemmIsa
{
    Scalar,
    Avx2,
    Avx512,
}
