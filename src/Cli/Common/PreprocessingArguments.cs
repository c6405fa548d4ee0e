using System.CommandLine;
using System.Globalization;
using DSConvService.Core.Graph;
using DSConvService.Core.Imaging;
using DSConvService.Core.Quantization.Artifact;

namespace DSConvService.Cli.Common;

/// <summary>The image preprocessing options shared by the commands; unset ones take the model's defaults.</summary>
public sealed class PreprocessingArguments
{
    private readonly Option<string?> _size = new("--size") { Description = "Input size: N or HxW (default: from the model's input shape)." };
    private readonly Option<string?> _resize = new("--resize") { Description = "stretch | center-crop" };
    private readonly Option<string?> _color = new("--color") { Description = "rgb | bgr | gray" };
    private readonly Option<float?> _scale = new("--pixel-scale") { Description = "Pixel scale factor (x = (pixel*scale - mean)/std)." };
    private readonly Option<string?> _mean = new("--mean") { Description = "Mean per channel, comma separated (one value applies to all)." };
    private readonly Option<string?> _std = new("--std") { Description = "Std per channel, comma separated (one value applies to all)." };

    public PreprocessingArguments()
    {
        _resize.AcceptOnlyFromAmong("stretch", "center-crop");
        _color.AcceptOnlyFromAmong("rgb", "bgr", "gray");
    }

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { _size, _resize, _color, _scale, _mean, _std })
        {
            command.Options.Add(o);
        }
    }

    public PreprocessingOptions Resolve(ParseResult parse, Model model)
    {
        var o = ArtifactMetadata.PreprocessingOf(model);
        if (parse.GetValue(_size) is { } size)
        {
            var (h, w) = ParseSize(size);
            o = o with { Height = h, Width = w };
        }
        if (parse.GetValue(_resize) is { } resize)
        {
            o = o with { Resize = resize == "stretch" ? ResizeMode.Stretch : ResizeMode.CenterCrop };
        }
        if (parse.GetValue(_color) is { } color)
        {
            o = o with { ColorMode = color switch { "bgr" => ColorMode.Bgr, "gray" => ColorMode.Gray, _ => ColorMode.Rgb } };
        }
        if (parse.GetValue(_scale) is { } scale)
        {
            o = o with { Scale = scale };
        }
        if (parse.GetValue(_mean) is { } mean)
        {
            o = o with { Mean = ParseFloats(mean, "--mean") };
        }
        if (parse.GetValue(_std) is { } std)
        {
            o = o with { Std = ParseFloats(std, "--std") };
        }
        // Model defaults may carry 3 values; a colour override to gray then keeps the first.
        if (o.Channels == 1)
        {
            o = o with { Mean = o.Mean.Take(1).ToArray(), Std = o.Std.Take(1).ToArray() };
        }
        return o;
    }

    private static (int H, int W) ParseSize(string text)
    {
        var parts = text.ToLowerInvariant().Split('x');
        if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0))
        {
            var h = int.Parse(parts[0], CultureInfo.InvariantCulture);
            return (h, parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : h);
        }
        throw new CliException($"--size '{text}' is not N or HxW with positive integers.");
    }

    private static float[] ParseFloats(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var values = new float[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
            {
                throw new CliException($"{option} '{text}' is not a comma-separated list of numbers.");
            }
        }
        return values.Length > 0 ? values : throw new CliException($"{option} needs at least one value.");
    }
}
