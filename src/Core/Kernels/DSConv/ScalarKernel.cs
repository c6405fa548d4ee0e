namespace DSConvService.Core.Kernels.DSConv;

/// <summary>The portable micro-kernel: the formula of <see cref="TileArgs"/> in plain loops (int32 block sums).</summary>
public static unsafe class ScalarKernel
{
    public static void Run(in TileArgs t)
    {
        const int rows = PackedWeights.Rows;
        for (var i = 0; i < rows * TileArgs.Pixels; i++)
        {
            t.C[i] = 0;
        }
        var ks = 0;
        for (var kb = 0; kb < t.KBlocks; kb++)
        {
            var s = t.S + t.SOffsets[kb];
            for (var r = 0; r < rows; r++)
            {
                var xi = t.Xi[kb * rows + r];
                var corr = t.Correction[kb * rows + r];
                for (var p = 0; p < TileArgs.Pixels; p++)
                {
                    var sum = 0;
                    for (var st = 0; st < t.StepsPerBlock; st++)
                    {
                        var a = t.A + t.AOffsets[ks + st] + 4 * p;
                        var q = t.Q + ((ks + st) * rows + r) * 4;
                        sum += a[0] * q[0] + a[1] * q[1] + a[2] * q[2] + a[3] * q[3];
                    }
                    t.C[r * TileArgs.Pixels + p] += xi * (s[p] * (sum - corr));
                }
            }
            ks += t.StepsPerBlock;
        }
    }
}
