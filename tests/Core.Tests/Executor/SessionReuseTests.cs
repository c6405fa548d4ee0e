using DSConvService.Core.Execution;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Executor;

/// <summary>Plans are reused across runs, shapes and threads: results must not leak from one run into another.</summary>
public class SessionReuseTests
{
    private static InferenceSession Session()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 2, 6, 6);
        var pooled = b.Node("MaxPool", [x], new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, pads = new[] { 1, 1, 1, 1 } });
        var sum = b.Node("Add", [pooled, b.Floats([1, 2, 1, 1], [0.5f, -0.5f])]);
        b.Output(b.Node("Relu", [sum]));
        b.Output(x);
        return new InferenceSession(b.Build(), new SessionOptions { Threads = 2 });
    }

    private static float[] Expected(Tensor x)
    {
        var (h, w) = (x.Shape[2], x.Shape[3]);
        var (oh, ow) = ((h + 1) / 2, (w + 1) / 2);
        var y = new float[2 * oh * ow];
        for (var c = 0; c < 2; c++)
        {
            for (var i = 0; i < oh; i++)
            {
                for (var j = 0; j < ow; j++)
                {
                    var m = float.MinValue;
                    for (var r = 2 * i - 1; r <= 2 * i + 1; r++)
                    {
                        for (var s = 2 * j - 1; s <= 2 * j + 1; s++)
                        {
                            if (r >= 0 && r < h && s >= 0 && s < w)
                            {
                                m = Math.Max(m, x.Floats[(c * h + r) * w + s]);
                            }
                        }
                    }
                    y[(c * oh + i) * ow + j] = Math.Max(0, m + (c == 0 ? 0.5f : -0.5f));
                }
            }
        }
        return y;
    }

    [Fact]
    public void Outputs_Belong_To_The_Caller_And_Shapes_Can_Change()
    {
        var session = Session();
        var a = RandomTensors.Normal(1, [1, 2, 6, 6]);
        var b = RandomTensors.Normal(2, [1, 2, 6, 6]);
        var c = RandomTensors.Normal(3, [1, 2, 9, 5]);
        var first = session.Run(a);
        var second = session.Run(b);
        var third = session.Run(c);
        var again = session.Run(a);
        Assert.Equal(Expected(a), first[0].Floats);
        Assert.Equal(Expected(b), second[0].Floats);
        Assert.Equal(Expected(c), third[0].Floats);
        Assert.Equal([1, 2, 5, 3], third[0].Shape);
        Assert.Equal(Expected(a), again[0].Floats);
        // A graph output that is the input itself is a copy, not the caller's tensor.
        Assert.Equal(a.Floats, first[1].Floats);
        Assert.NotSame(a.Floats, first[1].Floats);
    }

    [Fact]
    public void Concurrent_Runs_Match_Serial_Ones()
    {
        var session = Session();
        var inputs = Enumerable.Range(0, 8).Select(i => RandomTensors.Normal(10 + i, i % 2 == 0 ? [1, 2, 6, 6] : [1, 2, 7, 8])).ToArray();
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k =>
        {
            var y = session.Run(inputs[k % inputs.Length])[0].Floats;
            Assert.Equal(Expected(inputs[k % inputs.Length]), y);
        });
    }
}
