using System.IO.Compression;
using DSConvService.Api.Tests.Support;
using DSConvService.TestSupport;

namespace DSConvService.Api.Tests.Faults;

/// <summary>
/// The jobs of the fault suite: the shared LeNet (BN) with 20 real MNIST evaluation images when the
/// shared data is there, else the tiny generated CNN with 20 generated images; a few seconds each.
/// </summary>
internal static class FaultJobs
{
    private static readonly Lazy<(byte[] Model, byte[] Evaluation, string Kind)> Inputs = new(Load);

    public static string Kind => Inputs.Value.Kind;

    public static MultipartFormDataContent Form() => TestInputs.Form(Inputs.Value.Model, Inputs.Value.Evaluation);

    /// <summary>An image for /infer that the model's preprocessing accepts.</summary>
    public static byte[] Image() => TestInputs.Png(28, 28, 3);

    private static (byte[], byte[], string) Load()
    {
        var root = TestData.Shared;
        var model = root is null ? null : Path.Combine(root, "models", "lenet_bn.onnx");
        var eval = root is null ? null : Path.Combine(root, "mnist", "mnist-eval-2000.zip");
        if (model is not null && File.Exists(model) && eval is not null && File.Exists(eval))
        {
            return (File.ReadAllBytes(model), TestInputs.Subset(eval, perClass: 2), "LeNet-BN on 20 MNIST images");
        }
        return (TestInputs.TinyCnn(), TestInputs.EvaluationZip(10, 2), "tiny CNN on 20 generated images");
    }
}
