using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;

namespace DSConvService.Core.Tests.Passes;

/// <summary>Small layers for pass tests, with seeded random weights.</summary>
internal static class PassTestModels
{
    public static string Weights(ModelBuilder b, int seed, params int[] shape) =>
        b.Initializer(RandomTensors.Uniform(seed, shape, -0.5f, 0.5f));

    public static string Conv(ModelBuilder b, string x, int cin, int cout, int seed, bool bias = true, int k = 3) =>
        b.Node("Conv", bias ? [x, Weights(b, seed, cout, cin, k, k), Weights(b, seed + 1, cout)] : [x, Weights(b, seed, cout, cin, k, k)],
            new { kernel_shape = new long[] { k, k }, pads = new long[] { k / 2, k / 2, k / 2, k / 2 } });

    /// <summary>A BatchNormalization with non-trivial statistics (variance in [0.5, 1.5]).</summary>
    public static string BatchNorm(ModelBuilder b, string x, int channels, int seed, float epsilon = 1e-3f) =>
        b.Node("BatchNormalization",
            [x, Weights(b, seed, channels), Weights(b, seed + 1, channels), Weights(b, seed + 2, channels),
             b.Initializer(RandomTensors.Uniform(seed + 3, [channels], 0.5f, 1.5f))],
            new { epsilon });

    public static int Count(Model m, string op) => m.Graph.Nodes.Count(n => n.OpType == op);

    public static Tensor Input(int seed, params int[] shape) => RandomTensors.Uniform(seed, shape);
}
