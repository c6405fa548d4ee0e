using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Execution;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.DSConv.Reference;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>The ai.dsconv operators run through a session and match the scalar spec conv(x̂, ŵ).</summary>
public class DSConvOperatorTests
{
    [Theory]
    [InlineData(1, 3, 8, 4, 3, 32, 4, 8, 1, 1, false, true)]
    [InlineData(2, 70, 9, 16, 3, 32, 4, 8, 2, 1, false, false)]
    [InlineData(1, 33, 7, 12, 1, 16, 8, 6, 1, 1, false, false)]
    [InlineData(1, 16, 6, 16, 3, 32, 4, 8, 1, 16, true, true)]
    [InlineData(1, 32, 5, 8, 3, 8, 3, 0, 1, 2, false, true)]
    public void Conv_Matches_The_Simulated_Float_Conv(int n, int c, int hw, int o, int k, int block, int wbits, int abits, int stride, int group, bool depthwise, bool extras)
    {
        var cg = c / group;
        var rng = new Random(c * 31 + hw);
        var shapeQ = new[] { o, cg, k, k };
        var nb = depthwise ? 1 : (cg + block - 1) / block;
        var kdsShape = depthwise ? new[] { o, 1, 1, 1 } : new[] { o, nb, k, k };
        var q = DSConvTestData.RandomQ(rng, ShapeUtil.Size(shapeQ), wbits);
        var kds = DSConvTestData.RandomFloats(rng, ShapeUtil.Size(kdsShape), 0.01f, 0.1f);
        var bias = DSConvTestData.RandomFloats(rng, o, -1, 1);
        var b = new ModelBuilder(21);
        var x = b.Input("x", n, c, hw, hw);
        var inputs = new List<string> { x, b.Initializer(new Tensor(wbits <= 4 ? DataType.Int4 : DataType.Int8, shapeQ, q)), b.Floats(kdsShape, kds), b.Floats([o], bias) };
        float[]? kdsBias = null, cdsScale = null, cdsBias = null;
        if (extras)
        {
            kdsBias = DSConvTestData.RandomFloats(rng, kds.Length, -0.01f, 0.01f);
            cdsScale = DSConvTestData.RandomFloats(rng, o, 0.5f, 1.5f);
            cdsBias = DSConvTestData.RandomFloats(rng, o, -0.01f, 0.01f);
            inputs.Add(b.Floats(kdsShape, kdsBias));
            inputs.Add(b.Floats([o], cdsScale));
            inputs.Add(b.Floats([o], cdsBias));
        }
        var y = b.Node("DSConvConv", inputs.ToArray(), new
        {
            group, strides = new[] { stride, stride }, pads = new[] { k / 2, k / 2, k / 2, k / 2 }, kernel_shape = new[] { k, k },
            block_size = block, weight_bits = wbits, activation_bits = abits, exponent_bits = 8, depthwise = depthwise ? 1 : 0,
            fused_activation = "Relu",
        });
        b.Output(y);
        var model = b.Build();
        model.Graph.Nodes[0].Domain = "ai.dsconv";
        model.Opsets["ai.dsconv"] = 1;
        var input = RandomTensors.Normal(7, [n, c, hw, hw]);
        var ours = new InferenceSession(model, new SessionOptions { Optimize = false, Threads = 2 }).Run(input)[0];

        var weights = new DSConvWeights(o, cg, k, k, new DSConvFormat(block, wbits, abits, 8, depthwise), q, kds, bias, kdsBias, cdsScale, cdsBias);
        var oh = (hw + 2 * (k / 2) - k) / stride + 1;
        var shape = new ConvShape(n, c, hw, hw, o, group, k, k, stride, stride, k / 2, k / 2, 1, 1, oh, oh);
        var expected = DSConvReference.Run(input.Floats, shape, weights, new FusedActivation(ActivationKind.Relu, 0, 0, 0));
        Assert.Equal(new[] { n, o, oh, oh }, ours.Shape);
        Assert.True(RandomTensors.RelativeDiff(ours, Tensor.FromFloats(ours.Shape, expected)) <= 1e-5);
    }

    [Theory]
    [InlineData("NOTSET", new[] { 0, 1, 2, 0 }, 1)]
    [InlineData("NOTSET", new[] { 2, 0, 0, 1 }, 2)]
    [InlineData("SAME_UPPER", new[] { 0, 0, 0, 0 }, 2)]
    [InlineData("SAME_LOWER", new[] { 0, 0, 0, 0 }, 1)]
    [InlineData("VALID", new[] { 1, 1, 1, 1 }, 2)]
    public void Asymmetric_And_Auto_Pads_Match_The_Reference(string autoPad, int[] pads, int stride)
    {
        const int c = 40, hw = 11, o = 6, k = 3, block = 16;
        var rng = new Random(pads.Sum() + stride);
        var q = DSConvTestData.RandomQ(rng, o * c * k * k, 4);
        var kds = DSConvTestData.RandomFloats(rng, o * 3 * k * k, 0.01f, 0.1f);
        var b = new ModelBuilder(21);
        var x = b.Input("x", 1, c, hw, hw + 2);
        var y = b.Node("DSConvConv", [x, b.Initializer(new Tensor(DataType.Int4, [o, c, k, k], q)), b.Floats([o, 3, k, k], kds)], new
        {
            strides = new[] { stride, stride }, pads, auto_pad = autoPad, kernel_shape = new[] { k, k },
            block_size = block, weight_bits = 4, activation_bits = 8, exponent_bits = 8,
        });
        b.Output(y);
        var model = b.Build();
        model.Graph.Nodes[0].Domain = "ai.dsconv";
        var input = RandomTensors.Normal(11, [1, c, hw, hw + 2]);
        var ours = new InferenceSession(model, new SessionOptions { Optimize = false, Threads = 2 }).Run(input)[0];

        // Pads and output size as ONNX defines them, computed here independently.
        int Out(int size, int p0, int p1) => autoPad.StartsWith("SAME") ? (size + stride - 1) / stride : (size + p0 + p1 - k) / stride + 1;
        int Lead(int size)
        {
            if (!autoPad.StartsWith("SAME"))
            {
                return 0;
            }
            var total = Math.Max(0, (Out(size, 0, 0) - 1) * stride + k - size);
            return autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
        }
        var valid = autoPad == "VALID";
        var oh = Out(hw, valid ? 0 : pads[0], valid ? 0 : pads[2]);
        var ow = Out(hw + 2, valid ? 0 : pads[1], valid ? 0 : pads[3]);
        var top = autoPad == "NOTSET" ? pads[0] : Lead(hw);
        var left = autoPad == "NOTSET" ? pads[1] : Lead(hw + 2);
        var shape = new ConvShape(1, c, hw, hw + 2, o, 1, k, k, stride, stride, top, left, 1, 1, oh, ow);
        var weights = new DSConvWeights(o, c, k, k, new DSConvFormat(block, 4, 8, 8, false), q, kds);
        var expected = DSConvReference.Run(input.Floats, shape, weights, FusedActivation.None);
        Assert.Equal(new[] { 1, o, oh, ow }, ours.Shape);
        Assert.True(RandomTensors.RelativeDiff(ours, Tensor.FromFloats(ours.Shape, expected)) <= 1e-5);
    }

    [Fact]
    public void Gemm_Matches_The_Simulated_Float_Product()
    {
        const int n = 3, k = 70, nout = 9, block = 32;
        var rng = new Random(5);
        var q = DSConvTestData.RandomQ(rng, nout * k, 4);
        var kds = DSConvTestData.RandomFloats(rng, nout * 3, 0.01f, 0.1f);
        var bias = DSConvTestData.RandomFloats(rng, nout, -1, 1);
        var b = new ModelBuilder(21);
        var x = b.Input("x", n, k);
        var y = b.Node("DSConvGemm", [x, b.Initializer(new Tensor(DataType.Int4, [nout, k], q)), b.Floats([nout, 3], kds), b.Floats([nout], bias)],
            new { block_size = block, weight_bits = 4, activation_bits = 8, exponent_bits = 8 });
        b.Output(y);
        var model = b.Build();
        model.Graph.Nodes[0].Domain = "ai.dsconv";
        var input = RandomTensors.Normal(3, [n, k]);
        var ours = new InferenceSession(model, new SessionOptions { Optimize = false }).Run(input)[0];

        var xs = DSConvReference.SimulateInput(input.Floats, ConvShape.Dense(n, k, nout), new DSConvFormat(block, 4, 8, 8, false));
        var expected = new float[n * nout];
        for (var r = 0; r < n; r++)
        {
            for (var j = 0; j < nout; j++)
            {
                double acc = bias[j];
                for (var i = 0; i < k; i++)
                {
                    acc += (double)kds[j * 3 + i / block] * q[j * k + i] * xs[r * k + i];
                }
                expected[r * nout + j] = (float)acc;
            }
        }
        Assert.Equal(new[] { n, nout }, ours.Shape);
        Assert.True(RandomTensors.RelativeDiff(ours, Tensor.FromFloats([n, nout], expected)) <= 1e-5);
    }
}
