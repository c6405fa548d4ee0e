using DSConvService.Core.Quantization.Policy;

namespace DSConvService.Cli.Common;

/// <summary>--target-cosine and --min-compression as a <see cref="QuantizationTarget"/> (null when neither is given).</summary>
public static class TargetArguments
{
    public static QuantizationTarget? From(double? cosine, double? minCompression) =>
        cosine is null && minCompression is null ? null : new QuantizationTarget { Cosine = cosine, MinCompression = minCompression };

    /// <summary>The command-line spelling of a target field.</summary>
    public static string CliName(string field) => field == "cosine" ? "--target-cosine" : "--min-compression";
}
