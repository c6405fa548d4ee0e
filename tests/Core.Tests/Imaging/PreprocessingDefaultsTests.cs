using DSConvService.Core.Imaging;
using DSConvService.Core.Onnx;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Imaging;

public class PreprocessingDefaultsTests
{
    private static Core.Graph.Model WithInput(string name, params int[] shape)
    {
        var b = new ModelBuilder();
        b.Output(b.Node("Relu", [b.Input(name, shape)]));
        return b.Build();
    }

    [Fact]
    public void Three_Channels_Give_ImageNet_Rgb_At_The_Input_Size()
    {
        var o = PreprocessingDefaults.FromModel(WithInput("data", 1, 3, 160, 128));
        Assert.Equal((128, 160), (o.Width, o.Height));
        Assert.Equal(ColorMode.Rgb, o.ColorMode);
        Assert.Equal([0.485f, 0.456f, 0.406f], o.Mean);
        Assert.Equal([0.229f, 0.224f, 0.225f], o.Std);
        Assert.Equal(1f / 255f, o.Scale);
    }

    [Fact]
    public void Unknown_Spatial_Size_Falls_Back_To_224()
    {
        var o = PreprocessingDefaults.FromModel(WithInput("x", -1, 3, -1, -1));
        Assert.Equal((224, 224), (o.Width, o.Height));
    }

    [Fact]
    public void One_Channel_Is_Gray_In_Zero_To_One()
    {
        var o = PreprocessingDefaults.FromModel(WithInput("x", -1, 1, 32, 32));
        Assert.Equal(ColorMode.Gray, o.ColorMode);
        Assert.Equal(1f / 255f, o.Scale);
        Assert.Equal([0f], o.Mean);
        Assert.Equal([1f], o.Std);
    }

    [SkippableFact]
    public void Mnist_Models_Get_Their_Documented_Normalisation()
    {
        var model = OnnxReader.Load(TestData.SharedFile("models/lenet_bn.onnx"));
        var o = PreprocessingDefaults.FromModel(model);
        Assert.Equal((28, 28, ColorMode.Gray), (o.Width, o.Height, o.ColorMode));
        Assert.Equal([0.1307f], o.Mean);
        Assert.Equal([0.3081f], o.Std);
    }

    [SkippableFact]
    public void The_Nuget_ResNet18_Gets_The_Cntk_Preprocessing()
    {
        Skip.IfNot(File.Exists(TestData.ResNet18), "ResNet18.onnx of the NuGet package is not in the output folder.");
        var o = PreprocessingDefaults.FromModel(OnnxReader.Load(TestData.ResNet18));
        Assert.Equal(ColorMode.Bgr, o.ColorMode);
        Assert.Equal(1f, o.Scale);
        Assert.Equal([103.06f, 115.90f, 123.15f], o.Mean);
        Assert.Equal([1f], o.Std);
        Assert.Equal((224, 224), (o.Width, o.Height));
    }

    [Fact]
    public void A_Dsconv_Artifact_Brings_Its_Own_Preprocessing()
    {
        var model = WithInput("x", 1, 3, 64, 64);
        var saved = new PreprocessingOptions { Width = 40, Height = 30, ColorMode = ColorMode.Bgr, Scale = 2f, Mean = [1f], Std = [3f], Resize = ResizeMode.Stretch };
        new Core.Quantization.Artifact.ArtifactMetadata { Preprocessing = saved }.WriteTo(model.Metadata);
        var o = Core.Quantization.Artifact.ArtifactMetadata.PreprocessingOf(model);
        Assert.Equal((40, 30, ColorMode.Bgr, ResizeMode.Stretch, 2f), (o.Width, o.Height, o.ColorMode, o.Resize, o.Scale));
        Assert.Equal([1f], o.Mean);
        Assert.Equal([3f], o.Std);
    }
}
