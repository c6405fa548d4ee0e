namespace DSConvService.Core.Quantization.BiasCorrection;

/// <summary>The expected output error of a quantized layer, removed from its bias (DESIGN 2.5).</summary>
public static class DataFreeBiasCorrection
{
    /// <summary>
    /// Per output channel o: Σ_(c,s) (ŵ − w)[o, c, s] · E[x][g·Cg + c], for weights in the [O, Cg, S]
    /// layout (S taps per filter) and <paramref name="groups"/> groups of O/groups filters. Padding is
    /// ignored: this is the error of an output whose window lies inside the input.
    /// </summary>
    public static double[] ExpectedError(ReadOnlySpan<float> w, ReadOnlySpan<float> wHat, ReadOnlySpan<double> inputMean,
        int outChannels, int cg, int spatial, int groups)
    {
        var perGroup = outChannels / groups;
        var error = new double[outChannels];
        for (var o = 0; o < outChannels; o++)
        {
            var c0 = o / perGroup * cg;
            double sum = 0;
            for (var c = 0; c < cg; c++)
            {
                var mean = inputMean[c0 + c];
                var i0 = (o * cg + c) * spatial;
                for (var s = 0; s < spatial; s++)
                {
                    sum += ((double)wHat[i0 + s] - w[i0 + s]) * mean;
                }
            }
            error[o] = sum;
        }
        return error;
    }

    /// <summary>The bias minus the expected error (a zero bias when there was none).</summary>
    public static float[] Corrected(float[]? bias, double[] expectedError)
    {
        var b = new float[expectedError.Length];
        for (var o = 0; o < b.Length; o++)
        {
            b[o] = (float)((bias?[o] ?? 0.0) - expectedError[o]);
        }
        return b;
    }
}
