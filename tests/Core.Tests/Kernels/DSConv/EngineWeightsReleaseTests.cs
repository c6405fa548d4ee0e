using System.Runtime.CompilerServices;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.Gemm;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>
/// Issue 9: a packed layer does not keep its int8 codes (one byte per weight beside its packed forms) unless asked to,
/// and computes the same without them.
/// </summary>
public class EngineWeightsReleaseTests
{
    private static readonly DSConvFormat Format = new(32, 4, 8, 8, false);

    [Fact]
    public void A_3x3_layer_drops_its_codes_once_packed_and_computes_the_same()
    {
        var (engine, codes, copy) = Build(keepWeights: false);
        Collect();
        Assert.False(codes.TryGetTarget(out _), "the engine still reaches the int8 codes it was built from");
        Assert.Throws<InvalidOperationException>(() => engine.Weights);
        var shape = new ConvShape(2, 64, 9, 9, 48, 1, 3, 3, 1, 1, 1, 1, 1, 1, 9, 9);
        var x = DSConvTestData.Activations(new Random(3), 2 * 64 * 81, 81);
        var keeping = new DSConvEngine(copy, 1, FusedActivation.None, keepWeights: true);
        Assert.Equal(DSConvEngineSweepTests.Run(keeping, shape, x, 2), DSConvEngineSweepTests.Run(engine, shape, x, 2));
    }

    [Fact]
    public void An_engine_asked_to_keep_its_weights_keeps_them()
    {
        var (engine, codes, _) = Build(keepWeights: true);
        Collect();
        Assert.True(codes.TryGetTarget(out var q));
        Assert.Same(q, engine.Weights.Q);
    }

    // The engine, a weak reference to the codes it was given, and an independent copy of the weights to compare with.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (DSConvEngine Engine, WeakReference<sbyte[]> Codes, DSConvWeights Reference) Build(bool keepWeights)
    {
        var rng = new Random(11);
        const int o = 48, cg = 64;
        var q = DSConvTestData.RandomQ(rng, o * cg * 9, 4);
        var kds = DSConvTestData.RandomFloats(rng, o * Format.BlocksPerGroup(cg) * 9, -0.1f, 0.1f);
        var bias = DSConvTestData.RandomFloats(rng, o, -1f, 1f);
        var reference = new DSConvWeights(o, cg, 3, 3, Format, (sbyte[])q.Clone(), (float[])kds.Clone(), (float[])bias.Clone());
        var engine = new DSConvEngine(new DSConvWeights(o, cg, 3, 3, Format, q, kds, bias), 1, FusedActivation.None, keepWeights: keepWeights);
        return (engine, new WeakReference<sbyte[]>(q), reference);
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
