using DSConvService.Core.Errors;
using System.Text.Json;
using DSConvService.Core.Format;
using DSConvService.Core.Imaging;
using DSConvService.Core.Quantization;
using DSConvService.Core.Reports;

namespace DSConvService.Worker.Jobs;

/// <summary>Parses, validates and fills in the options of a job.</summary>
public static class OptionsResolver
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    /// <summary>Parses the options JSON (null or blank means all defaults).</summary>
    public static QuantizeOptions Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return new QuantizeOptions();
        }
        try
        {
            var options = JsonSerializer.Deserialize<QuantizeOptions>(json, new JsonSerializerOptions(Json) { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow });
            return options ?? new QuantizeOptions();
        }
        catch (JsonException e)
        {
            throw new InvalidOptionsException([$"options is not valid JSON for this API: {e.Message}"]);
        }
    }

    /// <summary>Fills missing fields (preprocessing from the model's defaults) and checks every range.</summary>
    public static QuantizeOptions Resolve(QuantizeOptions given, PreprocessingOptions modelDefaults, string modelTask = ModelTask.Classify)
    {
        var defaults = DSConvSettings.Default;
        var p = given.Preprocessing ?? new PreprocessingSettings();
        var color = p.ColorMode ?? ColorName(modelDefaults.ColorMode);
        var channels = color == "gray" ? 1 : 3;
        var defaultsFit = modelDefaults.Channels == channels;
        var weightBits = given.WeightBits ?? defaults.WeightBits;
        var blockSize = given.BlockSize ?? defaults.BlockSize;
        var activationBits = given.ActivationBits ?? defaults.ActivationBits;
        var resolved = new QuantizeOptions
        {
            WeightBits = weightBits,
            BlockSize = blockSize,
            ActivationBits = activationBits,
            Kds = given.Kds ?? "l2",
            Scale = given.Scale ?? QuantizationOptions.DefaultScaleFor(given.Adapt ?? false).Name(),
            BiasCorrection = given.BiasCorrection ?? QuantizationOptions.DefaultBiasCorrection,
            Layers = given.Layers?.ToDictionary(l => l.Key, l => new LayerOptions
            {
                WeightBits = l.Value?.WeightBits ?? weightBits,
                BlockSize = l.Value?.BlockSize ?? blockSize,
                ActivationBits = l.Value?.ActivationBits ?? activationBits,
            }, StringComparer.Ordinal) ?? new Dictionary<string, LayerOptions>(StringComparer.Ordinal),
            Adapt = given.Adapt ?? false,
            Task = given.Task ?? modelTask,
            Target = given.Target,
            Preprocessing = new PreprocessingSettings
            {
                Width = p.Width ?? modelDefaults.Width,
                Height = p.Height ?? modelDefaults.Height,
                Resize = p.Resize ?? ResizeName(modelDefaults.Resize),
                ColorMode = color,
                Scale = p.Scale ?? modelDefaults.Scale,
                Mean = p.Mean ?? (defaultsFit ? modelDefaults.Mean : Enumerable.Repeat(0f, channels).ToArray()),
                Std = p.Std ?? (defaultsFit ? modelDefaults.Std : Enumerable.Repeat(1f, channels).ToArray()),
            },
        };
        var errors = Check(resolved);
        if (errors.Count > 0)
        {
            throw new InvalidOptionsException(errors);
        }
        return resolved;
    }

    public static DSConvSettings ToSettings(QuantizeOptions o) => new()
    {
        WeightBits = o.WeightBits!.Value,
        BlockSize = o.BlockSize!.Value,
        ActivationBits = o.ActivationBits!.Value,
    };

    /// <summary>The settings of one resolved layer entry (its fields are filled in by <see cref="Resolve"/>).</summary>
    public static DSConvSettings ToSettings(QuantizeOptions o, LayerOptions layer) => ToSettings(o) with
    {
        WeightBits = layer.WeightBits ?? o.WeightBits!.Value,
        BlockSize = layer.BlockSize ?? o.BlockSize!.Value,
        ActivationBits = layer.ActivationBits ?? o.ActivationBits!.Value,
    };

    public static QuantizationOptions ToQuantization(QuantizeOptions o) => new()
    {
        Format = ToSettings(o),
        Layers = (o.Layers ?? []).ToDictionary(l => l.Key, l => ToSettings(o, l.Value), StringComparer.Ordinal),
        Kds = o.Kds == "kl" ? KdsMethod.Kl : KdsMethod.L2,
        // Jobs stored before the field existed ran with the max rule and no correction.
        Scale = ScaleRuleNames.Parse(o.Scale) ?? ScaleRule.Max,
        BiasCorrection = o.BiasCorrection ?? false,
        Adapt = o.Adapt!.Value,
        Target = ToTarget(o.Target),
    };

    public static QuantizationTarget? ToTarget(TargetSettings? t) =>
        t is null ? null : new QuantizationTarget { Cosine = t.Cosine, MinCompression = t.MinCompression };

    public static PreprocessingOptions ToPreprocessing(QuantizeOptions o)
    {
        var p = o.Preprocessing!;
        return new PreprocessingOptions
        {
            Width = p.Width!.Value,
            Height = p.Height!.Value,
            Resize = p.Resize == "stretch" ? ResizeMode.Stretch : ResizeMode.CenterCrop,
            ColorMode = p.ColorMode switch { "gray" => ColorMode.Gray, "bgr" => ColorMode.Bgr, _ => ColorMode.Rgb },
            Scale = p.Scale!.Value,
            Mean = p.Mean!,
            Std = p.Std!,
        };
    }

    public static string ResizeName(ResizeMode mode) => mode == ResizeMode.Stretch ? "stretch" : "center-crop";

    public static string ColorName(ColorMode mode) => mode switch { ColorMode.Gray => "gray", ColorMode.Bgr => "bgr", _ => "rgb" };

    private static List<string> Check(QuantizeOptions o)
    {
        var errors = new List<string>(ToSettings(o).Errors());
        if (ToTarget(o.Target) is { } target) errors.AddRange(target.Errors());
        if (o.Kds is not ("l2" or "kl")) errors.Add($"kds must be \"l2\" or \"kl\" (got \"{o.Kds}\").");
        if (ScaleRuleNames.Parse(o.Scale) is null) errors.Add($"scale must be \"max\" or \"mse\" (got \"{o.Scale}\").");
        foreach (var (name, layer) in o.Layers ?? [])
        {
            errors.AddRange(ToSettings(o, layer).Errors(field => $"layers.{name}.{field}"));
        }
        if (!ModelTask.IsKnown(o.Task)) errors.Add($"task must be \"classify\" or \"features\" (got \"{o.Task}\").");
        var p = o.Preprocessing!;
        if (p.Width is < 1 or > 4096) errors.Add($"preprocessing.width must be between 1 and 4096 (got {p.Width}).");
        if (p.Height is < 1 or > 4096) errors.Add($"preprocessing.height must be between 1 and 4096 (got {p.Height}).");
        if (p.Resize is not ("center-crop" or "stretch")) errors.Add($"preprocessing.resize must be \"center-crop\" or \"stretch\" (got \"{p.Resize}\").");
        if (p.ColorMode is not ("rgb" or "bgr" or "gray")) errors.Add($"preprocessing.colorMode must be \"rgb\", \"bgr\" or \"gray\" (got \"{p.ColorMode}\").");
        if (p.Scale is not { } scale || !float.IsFinite(scale) || scale <= 0) errors.Add($"preprocessing.scale must be a positive number (got {p.Scale}).");
        var channels = p.ColorMode == "gray" ? 1 : 3;
        if ((p.Mean!.Length != channels && p.Mean.Length != 1) || p.Mean.Any(m => !float.IsFinite(m)))
            errors.Add($"preprocessing.mean must hold 1 or {channels} finite number(s) for colorMode \"{p.ColorMode}\" (got {p.Mean.Length}).");
        if ((p.Std!.Length != channels && p.Std.Length != 1) || p.Std.Any(s => !float.IsFinite(s) || s <= 0))
            errors.Add($"preprocessing.std must hold 1 or {channels} positive number(s) for colorMode \"{p.ColorMode}\".");
        return errors;
    }
}
