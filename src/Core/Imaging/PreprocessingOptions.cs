namespace DSConvService.Core.Imaging;

public enum ResizeMode
{
    /// <summary>Resize the shorter side to the target, then crop the centre.</summary>
    CenterCrop,

    /// <summary>Resize both sides to the target (aspect ratio not kept).</summary>
    Stretch,
}

public enum ColorMode
{
    Rgb,
    Bgr,
    Gray,
}

/// <summary>
/// How an image becomes a model input: x = (pixel · Scale − Mean[c]) / Std[c], NCHW float32.
/// JSON names follow DESIGN section 5 ("width","height","resize","colorMode","scale","mean","std").
/// </summary>
public sealed record PreprocessingOptions
{
    public int Width { get; init; } = 224;
    public int Height { get; init; } = 224;
    public ResizeMode Resize { get; init; } = ResizeMode.CenterCrop;
    public ColorMode ColorMode { get; init; } = ColorMode.Rgb;
    public float Scale { get; init; } = 1f / 255f;
    public float[] Mean { get; init; } = [0.485f, 0.456f, 0.406f];
    public float[] Std { get; init; } = [0.229f, 0.224f, 0.225f];

    public int Channels => ColorMode == ColorMode.Gray ? 1 : 3;
}
