using DSConvService.Core.Graph;
using DSConvService.Core.Quantization.Artifact;

namespace DSConvService.Cli.Common;

/// <summary>
/// An ONNX file read from disk, with errors phrased for the command line. A DSConv artifact comes
/// back with its DSConv nodes rebuilt (so this engine runs the integer kernels) and its metadata.
/// </summary>
public sealed record ModelFile(string Path, byte[] Bytes, Model Model, ArtifactMetadata? Artifact)
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
            var (model, metadata) = DSConvArtifact.Load(bytes);
            return new ModelFile(path, bytes, model, metadata);
        }
        catch (InvalidModelException e)
        {
            throw new CliException($"'{path}': {e.Message}");
        }
    }
}
