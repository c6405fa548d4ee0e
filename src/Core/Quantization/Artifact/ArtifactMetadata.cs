using System.Text.Json;
using System.Text.Json.Serialization;
using DSConvService.Core.Format;
using DSConvService.Core.Imaging;

namespace DSConvService.Core.Quantization.Artifact;

/// <summary>What an artifact's metadata_props say: DSConv settings, per-layer settings, preprocessing and labels.</summary>
public sealed record ArtifactMetadata
{
    public const string VersionKey = "dsconv.version";
    public const string PreprocessingKey = "dsconv.preprocessing";
    public const string LabelsKey = "dsconv.labels";
    public const string LayersKey = "dsconv.layers";
    public const string CurrentVersion = "1";

    public string Version { get; init; } = CurrentVersion;

    /// <summary>The model-wide settings (those most layers have); a layer without an entry in <see cref="Layers"/> has these.</summary>
    public DSConvSettings Settings { get; init; } = DSConvSettings.Default;
    public PreprocessingOptions? Preprocessing { get; init; }
    public string[]? Labels { get; init; }

    /// <summary>Settings of each quantized layer, by the name of its Conv/Gemm node.</summary>
    public Dictionary<string, DSConvSettings> Layers { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The settings of the layer whose Conv/Gemm node is named <paramref name="layer"/>.</summary>
    public DSConvSettings For(string layer) => Layers.GetValueOrDefault(layer) ?? Settings;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public void WriteTo(Dictionary<string, string> props)
    {
        props[VersionKey] = Version;
        Settings.WriteTo(props);
        props[LayersKey] = JsonSerializer.Serialize(Layers, Json);
        if (Preprocessing is not null)
        {
            props[PreprocessingKey] = JsonSerializer.Serialize(Preprocessing, Json);
        }
        if (Labels is not null)
        {
            props[LabelsKey] = JsonSerializer.Serialize(Labels, Json);
        }
    }

    /// <summary>
    /// The preprocessing a model wants: a DSConv artifact's own (metadata_props) when it has readable metadata,
    /// otherwise <see cref="PreprocessingDefaults.FromModel"/> (inferred from the input shape).
    /// </summary>
    public static PreprocessingOptions PreprocessingOf(Graph.Model model)
    {
        try
        {
            if (ReadFrom(model.Metadata)?.Preprocessing is { } stored)
            {
                return stored;
            }
        }
        catch (Graph.InvalidModelException)
        {
            // Malformed metadata: the inferred defaults, as for any model.
        }
        return PreprocessingDefaults.FromModel(model);
    }

    /// <summary>Null when the properties do not describe a DSConv artifact.</summary>
    public static ArtifactMetadata? ReadFrom(IReadOnlyDictionary<string, string> props)
    {
        if (!props.TryGetValue(VersionKey, out var version))
        {
            return null;
        }
        try
        {
            return new ArtifactMetadata
            {
                Version = version,
                Settings = DSConvSettings.FromMetadata(props),
                Preprocessing = props.TryGetValue(PreprocessingKey, out var p) ? JsonSerializer.Deserialize<PreprocessingOptions>(p, Json) : null,
                Labels = props.TryGetValue(LabelsKey, out var l) ? JsonSerializer.Deserialize<string[]>(l, Json) : null,
                Layers = props.TryGetValue(LayersKey, out var s)
                    ? new Dictionary<string, DSConvSettings>(JsonSerializer.Deserialize<Dictionary<string, DSConvSettings>>(s, Json) ?? [], StringComparer.Ordinal)
                    : new(StringComparer.Ordinal),
            };
        }
        catch (JsonException e)
        {
            throw new Graph.InvalidModelException($"The artifact's DSConv metadata is malformed: {e.Message}", e);
        }
    }
}
