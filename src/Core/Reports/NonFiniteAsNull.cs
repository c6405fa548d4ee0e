using System.Text.Json;
using System.Text.Json.Serialization;

namespace DSConvService.Core.Reports;

/// <summary>
/// Writes a non-finite metric (an SQNR of +∞ when nothing was lost, NaN) as JSON null, a finite one as a
/// number; null reads back as NaN. Put on the report's properties so that every serializer (the CLI's,
/// the worker's, the API's) writes the same.
/// </summary>
public sealed class NonFiniteAsNull : JsonConverter<double>
{
    public override bool HandleNull => true;

    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}

/// <summary><see cref="NonFiniteAsNull"/> for an optional metric (null stays null).</summary>
public sealed class OptionalNonFiniteAsNull : JsonConverter<double?>
{
    public override bool HandleNull => true;

    public override double? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? null : reader.GetDouble();

    public override void Write(Utf8JsonWriter writer, double? value, JsonSerializerOptions options)
    {
        if (value is { } v && double.IsFinite(v))
        {
            writer.WriteNumberValue(v);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}

/// <summary>How reports are written and read everywhere (camelCase names of DESIGN 5).</summary>
public static class ReportSerialization
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static readonly JsonSerializerOptions Indented = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}
