using System.Globalization;
using DSConvService.Core.Format;

namespace DSConvService.Cli.Common;

/// <summary>Parses the repeatable <c>--layer NAME=BITS[/BLOCK]</c> into per-layer settings merged over the global ones.</summary>
public static class LayerArguments
{
    public static Dictionary<string, DSConvSettings> Parse(IEnumerable<string> values, DSConvSettings global)
    {
        var layers = new Dictionary<string, DSConvSettings>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            // The name may itself hold '=' or '/': the settings are after the last '='.
            var eq = value.LastIndexOf('=');
            if (eq <= 0 || eq == value.Length - 1)
            {
                throw new CliException($"--layer '{value}': expected NAME=BITS or NAME=BITS/BLOCK (for example conv1=8 or conv1=8/16).");
            }
            var name = value[..eq];
            var parts = value[(eq + 1)..].Split('/');
            if (parts.Length > 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var bits)
                || (parts.Length == 2 && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                throw new CliException($"--layer '{value}': BITS and BLOCK must be whole numbers (NAME=BITS[/BLOCK]).");
            }
            if (layers.ContainsKey(name))
            {
                throw new CliException($"--layer: '{name}' is given more than once.");
            }
            layers[name] = global with
            {
                WeightBits = bits,
                BlockSize = parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : global.BlockSize,
            };
        }
        return layers;
    }
}
