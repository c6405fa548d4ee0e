using System.Text.Json;
using DSConvService.Core.Errors;

namespace DSConvService.Cli.Common;

/// <summary>Where a command writes, and the one place that turns failures into messages and exit codes.</summary>
public sealed class CliConsole(TextWriter output, TextWriter error)
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadInput = 2;

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public TextWriter Out { get; } = output;
    public TextWriter Error { get; } = error;

    public void WriteJson<T>(T value) => Out.WriteLine(JsonSerializer.Serialize(value, Json));

    /// <summary>Runs a command body; expected failures print one line and return a non-zero code, never a stack trace.</summary>
    public int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is InputException or FileNotFoundException
                                      or DirectoryNotFoundException or UnauthorizedAccessException or ArgumentException)
        {
            Error.WriteLine($"error: {e.Message}");
            return BadInput;
        }
        catch (Exception e)
        {
            Error.WriteLine($"error: {e.GetType().Name}: {e.Message}");
            return Failed;
        }
    }
}

/// <summary>A user error detected by the CLI itself (bad option combination, wrong input count...).</summary>
public sealed class CliException(string message) : InputException(message);
