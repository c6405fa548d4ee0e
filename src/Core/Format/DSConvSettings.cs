using System.Globalization;
using System.Text.Json.Serialization;
using DSConvService.Core.Errors;
using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Format;

/// <summary>
/// The DSConv number format of one layer (DESIGN 2.1/2.2), declared once: weight bits, block size,
/// BFP mantissa bits (0 = float activations) and exponent bits, with their defaults, their ranges,
/// the block count, the storage type of the integers, and how the settings are written to and read
/// from a DSConv node's attributes and an artifact's metadata. Per-layer settings are a map of
/// this record by layer name.
/// </summary>
public sealed record DSConvSettings
{
    public const int DefaultWeightBits = 4;
    public const int DefaultBlockSize = 32;
    public const int DefaultActivationBits = 8;
    public const int DefaultExponentBits = 8;
    public const int MinBits = 2, MaxBits = 8, MaxBlockSize = 256;

    public static readonly DSConvSettings Default = new();

    /// <summary>Bits of the VQK integers, 2..8.</summary>
    public int WeightBits { get; init; } = DefaultWeightBits;

    /// <summary>Channels per block (B), 1..256 (an int8·int8 block sum stays exact in int32 up to 256).</summary>
    public int BlockSize { get; init; } = DefaultBlockSize;

    /// <summary>BFP mantissa bits, 2..8; 0 means float activations (weight-only mode).</summary>
    public int ActivationBits { get; init; } = DefaultActivationBits;

    /// <summary>BFP exponent width in bits, 2..8.</summary>
    public int ExponentBits { get; init; } = DefaultExponentBits;

    [JsonIgnore]
    public bool FloatActivations => ActivationBits == 0;

    /// <summary>Blocks of <paramref name="blockSize"/> covering <paramref name="channels"/> channels: ⌈channels / blockSize⌉.</summary>
    public static int BlockCount(int channels, int blockSize) => (channels + blockSize - 1) / blockSize;

    /// <summary>Weight blocks per filter position for <paramref name="channels"/> input channels per group; 1 under the depthwise rule.</summary>
    public int BlocksPerFilter(int channels, bool depthwise) => depthwise ? 1 : BlockCount(channels, BlockSize);

    /// <summary>How the VQK integers are stored: INT4 up to 4 bits, else INT8 (ONNX has no type in between).</summary>
    [JsonIgnore]
    public DataType StorageType => WeightBits <= 4 ? DataType.Int4 : DataType.Int8;

    /// <summary>Bits one stored VQK integer takes.</summary>
    [JsonIgnore]
    public int StorageBitsPerWeight => StorageType == DataType.Int4 ? 4 : 8;

    /// <summary>
    /// True when the weight bits are narrower than their storage (below 4 stored as INT4, 5..7 as INT8):
    /// the file is no smaller than at <see cref="StorageBitsPerWeight"/> bits, only the accuracy is lower.
    /// </summary>
    [JsonIgnore]
    public bool WastesStorage => WeightBits < StorageBitsPerWeight;

    // ---- validation (the one place that knows the ranges) ----

    /// <summary>
    /// Every out-of-range setting, one message each. <paramref name="name"/> spells a setting's name
    /// for the caller (JSON field by default: weightBits, blockSize, activationBits, exponentBits).
    /// </summary>
    public IReadOnlyList<string> Errors(Func<string, string>? name = null)
    {
        name ??= n => n;
        var errors = new List<string>();
        if (WeightBits is < MinBits or > MaxBits)
        {
            errors.Add($"{name("weightBits")} must be between {MinBits} and {MaxBits} (got {WeightBits}).");
        }
        if (BlockSize is < 1 or > MaxBlockSize)
        {
            errors.Add($"{name("blockSize")} must be between 1 and {MaxBlockSize} (got {BlockSize}).");
        }
        if (ActivationBits != 0 && ActivationBits is < MinBits or > MaxBits)
        {
            errors.Add($"{name("activationBits")} must be 0 (float activations) or between {MinBits} and {MaxBits} (got {ActivationBits}).");
        }
        if (ExponentBits is < MinBits or > MaxBits)
        {
            errors.Add($"{name("exponentBits")} must be between {MinBits} and {MaxBits} (got {ExponentBits}).");
        }
        return errors;
    }

    /// <summary>Throws <see cref="InvalidOptionsException"/> naming every out-of-range setting.</summary>
    public DSConvSettings Validate()
    {
        var errors = Errors();
        return errors.Count == 0 ? this : throw new InvalidOptionsException(errors);
    }

    // ---- DSConv node attributes ----

    public const string BlockSizeAttribute = "block_size";
    public const string WeightBitsAttribute = "weight_bits";
    public const string ActivationBitsAttribute = "activation_bits";
    public const string ExponentBitsAttribute = "exponent_bits";
    public const string DepthwiseAttribute = "depthwise";

    /// <summary>Writes the four settings as attributes of a DSConvConv / DSConvGemm node.</summary>
    public void WriteTo(Node node)
    {
        node.Attributes[BlockSizeAttribute] = AttributeValue.Of((long)BlockSize);
        node.Attributes[WeightBitsAttribute] = AttributeValue.Of((long)WeightBits);
        node.Attributes[ActivationBitsAttribute] = AttributeValue.Of((long)ActivationBits);
        node.Attributes[ExponentBitsAttribute] = AttributeValue.Of((long)ExponentBits);
    }

    /// <summary>The settings a DSConv node carries (missing attributes take the defaults); out of range is an invalid model.</summary>
    public static DSConvSettings FromNode(Node node)
    {
        var s = new DSConvSettings
        {
            BlockSize = (int)node.GetInt(BlockSizeAttribute, DefaultBlockSize),
            WeightBits = (int)node.GetInt(WeightBitsAttribute, DefaultWeightBits),
            ActivationBits = (int)node.GetInt(ActivationBitsAttribute, DefaultActivationBits),
            ExponentBits = (int)node.GetInt(ExponentBitsAttribute, DefaultExponentBits),
        };
        var errors = s.Errors(n => n switch
        {
            "weightBits" => WeightBitsAttribute,
            "blockSize" => BlockSizeAttribute,
            "activationBits" => ActivationBitsAttribute,
            _ => ExponentBitsAttribute,
        });
        return errors.Count == 0 ? s : throw new InvalidModelException($"{node.OpType} node '{node.DisplayName}': {string.Join(" ", errors)}");
    }

    /// <summary>True when the node says its weight blocks follow the depthwise rule (DESIGN 2.1).</summary>
    public static bool IsDepthwise(Node node) => node.GetInt(DepthwiseAttribute, 0) != 0;

    public static void WriteDepthwise(Node node, bool depthwise) => node.Attributes[DepthwiseAttribute] = AttributeValue.Of(depthwise ? 1L : 0L);

    // ---- artifact metadata_props (the model-wide keys; per-layer settings are this record as JSON) ----

    public const string BlockSizeKey = "dsconv.block_size";
    public const string WeightBitsKey = "dsconv.weight_bits";
    public const string ActivationBitsKey = "dsconv.activation_bits";
    public const string ExponentBitsKey = "dsconv.exponent_bits";

    public void WriteTo(IDictionary<string, string> props)
    {
        props[ActivationBitsKey] = ActivationBits.ToString(CultureInfo.InvariantCulture);
        props[ExponentBitsKey] = ExponentBits.ToString(CultureInfo.InvariantCulture);
        props[BlockSizeKey] = BlockSize.ToString(CultureInfo.InvariantCulture);
        props[WeightBitsKey] = WeightBits.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The model-wide settings of an artifact's metadata (missing keys take the defaults).</summary>
    public static DSConvSettings FromMetadata(IReadOnlyDictionary<string, string> props)
    {
        int Int(string key, int fallback) =>
            props.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : fallback;
        return new DSConvSettings
        {
            ActivationBits = Int(ActivationBitsKey, DefaultActivationBits),
            ExponentBits = Int(ExponentBitsKey, DefaultExponentBits),
            BlockSize = Int(BlockSizeKey, DefaultBlockSize),
            WeightBits = Int(WeightBitsKey, DefaultWeightBits),
        };
    }
}
