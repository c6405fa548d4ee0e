using DSConvService.Core.Kernels.Conv;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Bench;

/// <summary>`depthwise`: the direct depthwise kernel on MobileNetV2 / EfficientNet shapes, 1 thread, GMAC per CPU-second.</summary>
public static unsafe class DepthwiseBench
{
    public static int Run(string[] args)
    {
        var o = BenchOptions.Parse(args);
        Console.WriteLine($"CPU: {SuiteModels.CpuModel()}; 1 thread, median wall time of {o.Runs} runs");
        Console.WriteLine();
        Console.WriteLine("| shape | ms | GMAC/s |");
        Console.WriteLine("| --- | ---: | ---: |");
        foreach (var (c, h, k, s) in new[] { (32, 112, 3, 1), (96, 112, 3, 2), (144, 56, 3, 1), (144, 56, 3, 2), (192, 28, 3, 1), (576, 14, 3, 1), (960, 7, 3, 1), (672, 14, 5, 1), (1152, 7, 5, 1) })
        {
            var pad = k / 2;
            var oh = (h + 2 * pad - k) / s + 1;
            var g = new ConvGeometry(1, h, h, k, k, s, s, 1, 1, pad, pad, oh, oh);
            var x = new float[c * h * h];
            var w = new float[c * k * k];
            var y = new float[c * oh * oh];
            var scratch = new float[DepthwiseConv.ScratchFloats(g)];
            new Random(1).NextBytes(new byte[1]);
            for (var i = 0; i < x.Length; i++)
            {
                x[i] = i % 7 - 3;
            }
            var ms = Timing.MedianMs(() =>
            {
                fixed (float* px = x, pw = w, py = y, ps = scratch)
                {
                    DepthwiseConv.Run(px, pw, null, py, 1, c, 1, g, FusedActivation.Relu, ps, 1);
                }
            }, o.Warmup, o.Runs);
            var macs = (double)c * oh * oh * k * k;
            Console.WriteLine($"| {c}x{h}x{h} {k}x{k}/{s} | {ms:F3} | {macs / ms / 1e6:F1} |");
        }
        return 0;
    }
}
