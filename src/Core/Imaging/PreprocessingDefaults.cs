using DSConvService.Core.Graph;

namespace DSConvService.Core.Imaging;

/// <summary>Preprocessing a model most likely expects, inferred from its first input.</summary>
public static class PreprocessingDefaults
{
    private const int FallbackSize = 224;

    /// <summary>
    /// From the input shape [N, C, H, W] (a DSConv artifact's own preprocessing is read by
    /// ArtifactMetadata.PreprocessingOf, which falls back to this): size H x W (224 when unknown); 1 channel is grey, pixel/255
    /// (MNIST's mean/std for 28x28 inputs, the interface of the MNIST models we know); 3 channels are
    /// RGB with ImageNet's mean/std, except the CNTK ResNet18 of the NuGet featurizer package
    /// (input "Input247"), which wants BGR in 0..255 minus the per-channel means.
    /// </summary>
    public static PreprocessingOptions FromModel(Model model)
    {
        var input = model.Graph.RuntimeInputs.FirstOrDefault();
        var shape = input?.Shape is { Length: 4 } s ? s : null;
        var channels = shape?[1] ?? 3;
        var height = shape is not null && shape[2] > 0 ? shape[2] : FallbackSize;
        var width = shape is not null && shape[3] > 0 ? shape[3] : FallbackSize;
        if (channels == 1)
        {
            var mnist = height == 28 && width == 28;
            return new PreprocessingOptions
            {
                Width = width,
                Height = height,
                ColorMode = ColorMode.Gray,
                Resize = ResizeMode.Stretch,
                Scale = 1f / 255f,
                Mean = [mnist ? 0.1307f : 0f],
                Std = [mnist ? 0.3081f : 1f],
            };
        }
        if (input?.Name == "Input247" && height == 224 && width == 224)
        {
            return new PreprocessingOptions
            {
                Width = width,
                Height = height,
                ColorMode = ColorMode.Bgr,
                Scale = 1f,
                Mean = [103.06f, 115.90f, 123.15f],
                Std = [1f],
            };
        }
        return new PreprocessingOptions { Width = width, Height = height };
    }
}
