using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;
using Tensor = DSConvService.Core.Tensors.Tensor;

namespace DSConvService.Core.Tests.Ops;

/// <summary>Runs one small model on this engine (no graph passes) and in ONNX Runtime and compares the outputs.</summary>
internal static class OpParity
{
    public const double Tolerance = 1e-5;

    public static Tensor[] Ours(ModelBuilder builder, params Tensor[] inputs) =>
        new Execution.InferenceSession(builder.Build(), new Execution.SessionOptions { Optimize = false, Threads = 2 }).Run(inputs);

    /// <summary>ONNX Runtime outputs for float, integer and bool tensors (integers and bools come back as Int64/Bool long tensors).</summary>
    public static Tensor[] Ort(ModelBuilder builder, params Tensor[] inputs)
    {
        var model = builder.Build();
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1 };
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(builder.ToBytes(), options);
        var names = model.Graph.RuntimeInputs.Select(i => i.Name).ToArray();
        var feeds = new List<NamedOnnxValue>();
        for (var i = 0; i < inputs.Length; i++)
        {
            var t = inputs[i];
            feeds.Add(t.Type switch
            {
                DataType.Float => NamedOnnxValue.CreateFromTensor(names[i], new DenseTensor<float>(t.Floats, t.Shape)),
                DataType.Int64 => NamedOnnxValue.CreateFromTensor(names[i], new DenseTensor<long>(t.Longs, t.Shape)),
                DataType.Int32 => NamedOnnxValue.CreateFromTensor(names[i], new DenseTensor<int>(t.Longs.Select(v => (int)v).ToArray(), t.Shape)),
                DataType.Bool => NamedOnnxValue.CreateFromTensor(names[i], new DenseTensor<bool>(t.Longs.Select(v => v != 0).ToArray(), t.Shape)),
                _ => throw new NotSupportedException(t.Type.ToString()),
            });
        }
        using var results = session.Run(feeds, model.Graph.Outputs.Select(o => o.Name).ToArray());
        return results.Select(r => r.Value switch
        {
            Tensor<float> f => new Tensor(DataType.Float, f.Dimensions.ToArray(), f.ToArray()),
            Tensor<long> l => new Tensor(DataType.Int64, l.Dimensions.ToArray(), l.ToArray()),
            Tensor<int> n => new Tensor(DataType.Int32, n.Dimensions.ToArray(), n.ToArray().Select(v => (long)v).ToArray()),
            Tensor<bool> b => new Tensor(DataType.Bool, b.Dimensions.ToArray(), b.ToArray().Select(v => v ? 1L : 0L).ToArray()),
            _ => throw new NotSupportedException(r.Value.GetType().Name),
        }).ToArray();
    }

    /// <summary>Asserts equal shapes and values: relative difference ≤ <see cref="Tolerance"/> for floats, exact for integers.</summary>
    public static void AssertMatchesOrt(ModelBuilder builder, params Tensor[] inputs)
    {
        var ours = Ours(builder, inputs);
        var reference = Ort(builder, inputs);
        Assert.Equal(reference.Length, ours.Length);
        for (var k = 0; k < ours.Length; k++)
        {
            AssertClose(reference[k], ours[k], $"output {k}");
        }
    }

    public static void AssertClose(Tensor expected, Tensor actual, string what = "output")
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape),
            $"{what}: shape {ShapeUtil.Format(actual.Shape)}, ONNX Runtime gives {ShapeUtil.Format(expected.Shape)}.");
        if (expected.Type == DataType.Float)
        {
            var diff = RandomTensors.RelativeDiff(actual, expected);
            Assert.True(diff <= Tolerance, $"{what}: relative difference {diff:g3} > {Tolerance}.");
        }
        else
        {
            Assert.Equal(expected.ToLongs(), actual.ToLongs());
        }
    }
}
