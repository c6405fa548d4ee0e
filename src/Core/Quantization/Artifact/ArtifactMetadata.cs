using System.Text.Json;
using System.Text.Json.Serialization;
using DSConvService.Core.Imaging;

namespace DSConvService.Core.Quantization.Artifact;

/// <summary>What an artifact's metadata_props say: DSConv settings, per-layer settings, preprocessing and labels.</summary>
public sealed record ArtifactMetadata
{
    public const string VersionKey = "dsconv.version";
    public const string ActivationBitsKey = "dsconv.activation_bits";
    public const string ExponentBitsKey = "dsconv.exponent_bits";
    public const string BlockSizeKey = "dsconv.block_size";
    public const string WeightBitsKey = "dsconv.weight_bits";
    public const string PreprocessingKey = "dsconv.preprocessing";
    public const string LabelsKey = "dsconv.labels";
    public const string LayersKey = "dsconv.layers";
    public const string CurrentVersion = "1";

    public string Version { get; init; } = CurrentVersion;
    public int ActivationBits { get; init; }
    public int ExponentBits { get; init; } = 8;
    public int BlockSize { get; init; } = 32;
    public int WeightBits { get; init; } = 4;
    public PreprocessingOptions? Preprocessing { get; init; }
    public string[]? Labels { get; init; }

    /// <summary>Settings of each quantized layer, by the name of its Conv/Gemm node.</summary>
    public Dictionary<string, LayerSettings> Layers { get; init; } = new(StringComparer.Ordinal);

    public sealed record LayerSettings(int WeightBits, int BlockSize, int ActivationBits, int ExponentBits);

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public void WriteTo(Dictionary<string, string> props)
    {
        props[VersionKey] = Version;
        props[ActivationBitsKey] = ActivationBits.ToString(System.Globalization.CultureInfo.InvariantCulture);
        props[ExponentBitsKey] = ExponentBits.ToString(System.Globalization.CultureInfo.InvariantCulture);
        props[BlockSizeKey] = BlockSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        props[WeightBitsKey] = WeightBits.ToString(System.Globalization.CultureInfo.InvariantCulture);
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

    /// <summary>Null when the properties do not describe a DSConv artifact.</summary>
    public static ArtifactMetadata? ReadFrom(IReadOnlyDictionary<string, string> props)
    {
        if (!props.TryGetValue(VersionKey, out var version))
        {
            return null;
        }
        int Int(string key, int fallback) => props.TryGetValue(key, out var v) && int.TryParse(v, out var i) ? i : fallback;
        try
        {
            return new ArtifactMetadata
            {
                Version = version,
                ActivationBits = Int(ActivationBitsKey, 0),
                ExponentBits = Int(ExponentBitsKey, 8),
                BlockSize = Int(BlockSizeKey, 32),
                WeightBits = Int(WeightBitsKey, 4),
                Preprocessing = props.TryGetValue(PreprocessingKey, out var p) ? JsonSerializer.Deserialize<PreprocessingOptions>(p, Json) : null,
                Labels = props.TryGetValue(LabelsKey, out var l) ? JsonSerializer.Deserialize<string[]>(l, Json) : null,
                Layers = props.TryGetValue(LayersKey, out var s)
                    ? new Dictionary<string, LayerSettings>(JsonSerializer.Deserialize<Dictionary<string, LayerSettings>>(s, Json) ?? [], StringComparer.Ordinal)
                    : new(StringComparer.Ordinal),
            };
        }
        catch (JsonException e)
        {
            throw new Graph.InvalidModelException($"The artifact's DSConv metadata is malformed: {e.Message}", e);
        }
    }
}
