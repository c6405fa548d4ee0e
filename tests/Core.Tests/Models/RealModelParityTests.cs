using System.IO.Compression;
using DSConvService.Core.Imaging;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Models;

/// <summary>Whole real models: this engine (with its graph passes) against ONNX Runtime on the same inputs.</summary>
public class RealModelParityTests
{
    /// <summary>The CNTK ResNet18's own preprocessing: BGR, 0..255, minus the per-channel means (DESIGN 7).</summary>
    private static readonly PreprocessingOptions Cntk = new()
    {
        ColorMode = ColorMode.Bgr, Scale = 1f, Mean = [103.06f, 115.90f, 123.15f], Std = [1f],
    };

    /// <summary>The MNIST models' documented preprocessing.</summary>
    private static readonly PreprocessingOptions Mnist = new()
    {
        Width = 28, Height = 28, ColorMode = ColorMode.Gray, Resize = ResizeMode.Stretch, Scale = 1f / 255f, Mean = [0.1307f], Std = [0.3081f],
    };

    public static TheoryData<string> Photos() => new() { "astronaut.png", "chelsea.png", "coffee.png" };

    [SkippableTheory]
    [MemberData(nameof(Photos))]
    public void ResNet18_On_Real_Photos(string photo)
    {
        Skip.IfNot(File.Exists(TestData.ResNet18), "ResNet18.onnx of the NuGet package is not in the output folder.");
        var bytes = File.ReadAllBytes(TestData.ResNet18);
        var photoPath = TestData.Shared is { } root ? Path.Combine(root, "photos", photo) : null;
        var input = photoPath is not null && File.Exists(photoPath)
            ? new ImagePreprocessor(Cntk).Process(File.ReadAllBytes(photoPath))
            : RandomTensors.Normal(photo.Length, [1, 3, 224, 224], 60f);
        Parity.AssertClose(Parity.Compare(bytes, input));
    }

    [SkippableTheory]
    [InlineData("lenet_bn.onnx", 1)]
    [InlineData("lenet_bn.onnx", 4)]
    [InlineData("resnet_mini.onnx", 1)]
    [InlineData("resnet_mini.onnx", 4)]
    public void Mnist_Models_On_Real_Digits(string file, int batch)
    {
        var bytes = File.ReadAllBytes(TestData.SharedFile("models/" + file));
        var input = MnistBatch(batch);
        Parity.AssertClose(Parity.Compare(bytes, input));
    }

    private static Tensor MnistBatch(int count)
    {
        var zip = TestData.SharedFile("mnist/mnist-eval-2000.zip");
        using var archive = ZipFile.OpenRead(zip);
        var preprocessor = new ImagePreprocessor(Mnist);
        var images = archive.Entries
            .Where(e => e.FullName.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            .OrderBy(e => e.FullName, StringComparer.Ordinal)
            .Take(count)
            .Select(e =>
            {
                using var ms = new MemoryStream();
                using (var s = e.Open())
                {
                    s.CopyTo(ms);
                }
                return preprocessor.Process(ms.ToArray());
            })
            .ToList();
        return ImagePreprocessor.Stack(images);
    }
}
