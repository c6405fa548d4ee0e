using DSConvService.Core.Evaluation;
using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Models;

/// <summary>Runs a model in ONNX Runtime and on this engine and compares every output.</summary>
internal static class Parity
{
    /// <summary>Default tolerance: largest |ours − ORT| over largest |ORT|.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>ORT runs <paramref name="reference"/>; our engine runs <paramref name="ours"/> as given (no further passes).</summary>
    public static double Compare(Model reference, Model ours, params Tensor[] inputs) =>
        Compare(OnnxWriter.ToBytes(reference), ours, optimize: false, inputs);

    /// <summary>ORT and our engine (with its passes) run the same ONNX bytes.</summary>
    public static double Compare(byte[] onnx, params Tensor[] inputs) =>
        Compare(onnx, OnnxReader.Load(onnx), optimize: true, inputs);

    public static void AssertClose(double relative, double tolerance = Tolerance) =>
        Assert.True(relative <= tolerance, $"relative diff {relative:E3} > {tolerance:E1}");

    private static double Compare(byte[] referenceOnnx, Model ours, bool optimize, Tensor[] inputs)
    {
        using var ort = new OrtReference(referenceOnnx, threads: 1);
        var expected = ort.Run(inputs);
        var session = new InferenceSession(ours, new SessionOptions { Threads = 2, Optimize = optimize });
        var actual = session.Run(inputs);
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            var name = ort.OutputNames[i];
            var k = session.Outputs.Select((o, j) => (o, j)).First(p => p.o.Name == name).j;
            Assert.Equal(expected[i].Shape, actual[k].Shape);
            worst = Math.Max(worst, RandomTensors.RelativeDiff(actual[k], expected[i]));
        }
        return worst;
    }
}
