namespace DSConvService.Bench;

/// <summary>`dsconv [layers]`: benchmarks of the integer DSConv engine.</summary>
public static class DSConvBench
{
    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "layers")
        {
            return DSConvLayerBench.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "kernel")
        {
            return DSConvKernelBench.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "sweep")
        {
            return DSConvSweepBench.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "peak")
        {
            return DSConvPeakBench.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "mixed")
        {
            return DSConvMixedBench.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "profile")
        {
            return DSConvProfileBench.Run(args[1..]);
        }
        return DSConvModelBench.Run(args);
    }
}
