using Xunit;

namespace DSConvService.TestSupport;

/// <summary>Locates ../shared/data (or $DSCONV_SHARED_DATA) and the NuGet ResNet18; skips tests when they are absent.</summary>
public static class TestData
{
    private static readonly Lazy<string?> SharedRoot = new(FindShared);

    /// <summary>The shared data folder, or null when this checkout has none beside it.</summary>
    public static string? Shared => SharedRoot.Value;

    /// <summary>Full path of a file under the shared data folder; skips the test with a reason when it is missing.</summary>
    public static string SharedFile(string relative)
    {
        var root = Shared;
        Skip.If(root is null, "../shared/data is not present beside this checkout (set DSCONV_SHARED_DATA to its path to run this test).");
        var path = Path.Combine(root!, relative);
        Skip.IfNot(File.Exists(path) || Directory.Exists(path), $"{relative} is not present in {root}.");
        return path;
    }

    /// <summary>The ImageNet ResNet18 that the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 copies to the output folder.</summary>
    public static string ResNet18 => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    private static string? FindShared()
    {
        var env = Environment.GetEnvironmentVariable("DSCONV_SHARED_DATA");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env))
        {
            return env;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
