using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Passes;
using DSConvService.Core.Quantization;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Executor;

/// <summary>
/// With several threads a batch of a graph that treats its images independently runs as its images, each through a
/// one-thread plan (<see cref="BatchSeparability"/>). The results must be those of the whole batch on one thread, and
/// a graph that mixes images across the batch must keep running whole.
/// </summary>
public class ImageParallelTests
{
    /// <summary>Conv 3×3/2 → Relu → depthwise 3×3 → SiLU (Sigmoid·x) → GlobalAveragePool → Flatten → Gemm.</summary>
    private static Model ConvNet(int channels = 6, int classes = 5)
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 3, 11, 11);
        var w1 = b.Initializer(RandomTensors.Normal(1, [channels, 3, 3, 3], 0.3f));
        var c1 = b.Node("Relu", [b.Node("Conv", [x, w1], new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, pads = new[] { 1, 1, 1, 1 } })]);
        var w2 = b.Initializer(RandomTensors.Normal(2, [channels, 1, 3, 3], 0.3f));
        var d = b.Node("Conv", [c1, w2], new { kernel_shape = new[] { 3, 3 }, pads = new[] { 1, 1, 1, 1 }, group = channels });
        var s = b.Node("Mul", [d, b.Node("Sigmoid", [d])]);
        var flat = b.Node("Flatten", [b.Node("GlobalAveragePool", [s])], new { axis = 1 });
        var wf = b.Initializer(RandomTensors.Normal(3, [classes, channels], 0.5f));
        b.Output(b.Node("Gemm", [flat, wf], new { transB = 1 }));
        return b.Build();
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(8)]
    public void A_conv_network_gives_the_whole_batch_results_image_by_image(int batch)
    {
        var model = ConvNet();
        var x = RandomTensors.Normal(batch, [batch, 3, 11, 11]);
        var parallel = new InferenceSession(model, new SessionOptions { Threads = 2, PoisonOutputs = true });
        Assert.True(parallel.RunsImageByImage([x]));
        var whole = new InferenceSession(model, new SessionOptions { Threads = 1 }).Run(x);
        var images = parallel.Run(x);
        Assert.Equal(new[] { batch, 5 }, images[0].Shape);
        Assert.Equal(whole[0].Floats, images[0].Floats);
    }

    [Fact]
    public void One_image_and_one_thread_run_whole()
    {
        var model = ConvNet();
        Assert.False(new InferenceSession(model, new SessionOptions { Threads = 2 }).RunsImageByImage([RandomTensors.Normal(1, [1, 3, 11, 11])]));
        Assert.False(new InferenceSession(model, new SessionOptions { Threads = 1 }).RunsImageByImage([RandomTensors.Normal(1, [4, 3, 11, 11])]));
    }

    /// <summary>A tail after Relu(x) of shape [B, 4, 3, 3]: whether it keeps each image to itself.</summary>
    public static TheoryData<string, bool> Tails() => new()
    {
        { "softmax axis 1", true },
        { "softmax axis 0", false },
        { "concat axis 1", true },
        { "concat axis 0", false },
        { "transpose keeping the batch first", true },
        { "transpose moving the batch", false },
        { "reduce over pixels", true },
        { "reduce over the batch", false },
        { "reduce over everything", false },
        { "gather along the batch", false },
        { "flatten everything", false },
        { "slice of channels", true },
        { "slice of the batch", false },
    };

    private static Model WithTail(string tail)
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 2, 4, 3, 3);
        var r = b.Node("Relu", [x]);
        var y = tail switch
        {
            "softmax axis 1" => b.Node("Softmax", [r], new { axis = 1 }),
            "softmax axis 0" => b.Node("Softmax", [r], new { axis = 0 }),
            "concat axis 1" => b.Node("Concat", [r, x], new { axis = 1 }),
            "concat axis 0" => b.Node("Concat", [r, x], new { axis = 0 }),
            "transpose keeping the batch first" => b.Node("Transpose", [r], new { perm = new[] { 0, 2, 3, 1 } }),
            "transpose moving the batch" => b.Node("Transpose", [r], new { perm = new[] { 1, 0, 2, 3 } }),
            "reduce over pixels" => b.Node("ReduceMean", [r], new { axes = new[] { 2, 3 } }),
            "reduce over the batch" => b.Node("ReduceSum", [r], new { axes = new[] { 0 }, keepdims = 1 }),
            "reduce over everything" => b.Node("ReduceMax", [r], new { keepdims = 1 }),
            "gather along the batch" => b.Node("Gather", [r, b.Longs(0)], new { axis = 0 }),
            "flatten everything" => b.Node("Flatten", [r], new { axis = 0 }),
            "slice of channels" => b.Node("Slice", [r, b.Longs(1), b.Longs(3), b.Longs(1)]),
            "slice of the batch" => b.Node("Slice", [r, b.Longs(0), b.Longs(1), b.Longs(0)]),
            _ => throw new ArgumentException(tail),
        };
        b.Output(b.Node("Neg", [y]));
        return b.Build();
    }

    [Theory]
    [MemberData(nameof(Tails))]
    public void Only_graphs_that_keep_each_image_to_itself_run_image_by_image(string tail, bool separable)
    {
        var model = WithTail(tail);
        var x = RandomTensors.Normal(4, [3, 4, 3, 3]);
        var parallel = new InferenceSession(model, new SessionOptions { Threads = 2, Optimize = false });
        Assert.Equal(separable, parallel.RunsImageByImage([x]));
        var whole = new InferenceSession(model, new SessionOptions { Threads = 1, Optimize = false }).Run(x);
        var got = parallel.Run(x);
        Assert.Equal(whole[0].Shape, got[0].Shape);
        Assert.Equal(whole[0].Floats, got[0].Floats);
    }

    [Fact]
    public void A_reshape_to_a_fixed_batch_runs_whole()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 4, 2, 3);
        b.Output(b.Node("Reshape", [b.Node("Relu", [x]), b.Longs(2, 2, 6)]));
        var model = b.Build();
        var input = RandomTensors.Normal(2, [4, 2, 3]);
        var parallel = new InferenceSession(model, new SessionOptions { Threads = 2, Optimize = false });
        Assert.False(parallel.RunsImageByImage([input]));
        Assert.Equal(new InferenceSession(model, new SessionOptions { Threads = 1, Optimize = false }).Run(input)[0].Floats, parallel.Run(input)[0].Floats);
    }

    public static TheoryData<string> SharedModels() => new()
    {
        "models/lenet_bn.onnx", "models/resnet_mini.onnx", "models/architectures/mobilenet_v2.onnx",
        "models/architectures/shufflenet_v2_x1_0.onnx", "models/architectures/googlenet.onnx",
        "models/architectures/efficientnet_b0.onnx", "models/architectures/squeezenet1_1.onnx",
    };

    /// <summary>
    /// The real models, fp32 and DSConv 4/8/32, at batch 3: image by image on 2 threads, the whole batch on 1 within float
    /// rounding (a batch of one takes other kernels in places, e.g. a matrix-vector product for the classifier, which
    /// sum in another order).
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(SharedModels))]
    public void A_real_model_gives_the_whole_batch_results_image_by_image(string relative)
    {
        var model = SymbolicBatch.Apply(OnnxReader.Load(TestData.SharedFile(relative)));
        var quantized = DSConvQuantizer.Quantize(model, new QuantizationOptions { WeightBits = 4, BlockSize = 32, ActivationBits = 8 }).Quantized;
        var shape = model.Graph.RuntimeInputs.First().Shape!.Select((d, i) => i == 0 ? 3 : d).ToArray();
        var x = RandomTensors.Normal(12, shape);
        foreach (var m in new[] { model, quantized })
        {
            var parallel = new InferenceSession(m, new SessionOptions { Threads = 2 });
            Assert.Null(BatchSeparability.Obstacle(parallel.Model.Graph, parallel.Operators, [x.Shape]));
            Assert.True(parallel.RunsImageByImage([x]));
            var whole = new InferenceSession(m, new SessionOptions { Threads = 1 }).Run(x);
            var images = parallel.Run(x);
            Assert.Equal(whole[0].Shape, images[0].Shape);
            var scale = whole[0].Floats.Max(MathF.Abs);
            var worst = whole[0].Floats.Zip(images[0].Floats, (a, b) => MathF.Abs(a - b)).Max();
            Assert.True(worst <= 1e-5f * scale, $"{relative} ({(m == model ? "fp32" : "DSConv")}): largest difference {worst} against outputs up to {scale}");
        }
    }
}
