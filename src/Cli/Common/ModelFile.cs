using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;

namespace DSConvService.Cli.Common;

/// <summary>An ONNX file read from disk, with errors phrased for the command line.</summary>
public sealed record ModelFile(string Path, byte[] Bytes, Model Model)
{
    public static ModelFile Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliException($"model file '{path}' does not exist.");
        }
        var bytes = File.ReadAllBytes(path);
        try
        {
            return new ModelFile(path, bytes, OnnxReader.Load(bytes));
        }
        catch (InvalidModelException e)
        {
            throw new CliException($"'{path}': {e.Message}");
        }
    }
}
