namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// <see cref="DenseRowWeights"/> re-laid for <see cref="DensePanelKernel"/> (16 rows) or <see cref="DensePanelKernel256"/>
/// (8 rows): panels of <see cref="Rows"/> output rows (the last padded with zero rows), per block and pair of K the rows'
/// two weights (sbyte, widened to int16 on load), and ξ per (block, row).
/// </summary>
public sealed class DensePanelWeights
{
    public DensePanelWeights(DenseRowWeights d, int rows)
    {
        Rows = rows;
        Panels = (d.O + Rows - 1) / Rows;
        var pairs = d.BlockStride / 2;
        PanelLength = d.Blocks * pairs * Rows * 2;
        Q = new sbyte[Panels * PanelLength];
        Xi = new float[Panels * d.Blocks * Rows];
        for (var o = 0; o < d.O; o++)
        {
            var panel = o / Rows;
            var r = o % Rows;
            for (var j = 0; j < d.Blocks; j++)
            {
                Xi[(panel * d.Blocks + j) * Rows + r] = d.Xi[o * d.Blocks + j];
                for (var i = 0; i < d.BlockStride; i++)
                {
                    var p = j * pairs + i / 2;
                    Q[panel * PanelLength + (p * Rows + r) * 2 + i % 2] = d.Q[o * d.RowStride + j * d.BlockStride + i];
                }
            }
        }
    }

    /// <summary>Output rows per panel.</summary>
    public int Rows { get; }

    public int Panels { get; }
    public int PanelLength { get; }
    public sbyte[] Q { get; }
    public float[] Xi { get; }
}
