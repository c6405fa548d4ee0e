using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Passes;
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

    /// <summary>
    /// This file with dimension 0 made symbolic (<see cref="SymbolicBatch"/>) in both the model this engine runs
    /// and the bytes ONNX Runtime loads, when it was exported with a fixed batch of 1 and <paramref name="batch"/>
    /// is larger; otherwise this file unchanged (a fixed batch above 1 stays an error of the input check).
    /// </summary>
    public ModelFile ForBatch(int batch)
    {
        if (batch <= 1 || SymbolicBatch.FixedBatch(Model) != 1)
        {
            return this;
        }
        var ortModel = SymbolicBatch.Apply(OnnxReader.Load(Bytes));
        return this with { Bytes = OnnxWriter.ToBytes(ortModel), Model = SymbolicBatch.Apply(Model) };
    }
}
