namespace DSConvService.Core.Kernels.Gemm;

/// <summary>Portable fallback: plain loops, 4 rows × up to 8 columns.</summary>
public sealed unsafe class ScalarMicroKernel : IGemmMicroKernel
{
    public static readonly ScalarMicroKernel Instance = new();

    public GemmIsa Isa => GemmIsa.Scalar;
    public int MR => 4;
    public int NR => 8;
    public int NRStep => 1;

    public void Run(int kc, float* a, float* b, int width, float* c, int ldc, bool accumulate)
    {
        for (var r = 0; r < 4; r++)
        {
            var cr = c + r * ldc;
            for (var j = 0; j < width; j++)
            {
                var sum = accumulate ? cr[j] : 0f;
                for (var k = 0; k < kc; k++)
                {
                    sum += a[k * 4 + r] * b[k * width + j];
                }
                cr[j] = sum;
            }
        }
    }

    public int NarrowCols => 0;

    public void RunNarrow(int kc, float* a, float* b, int width, int rows, int cols, float* c, int ldc, bool accumulate) =>
        throw new NotSupportedException();
}
