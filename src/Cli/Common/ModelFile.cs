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
        var bytes = File.ReadAllBytes(Existing(path));
        var (model, metadata) = Phrased(path, () => DSConvArtifact.Load(bytes));
        return new ModelFile(path, bytes, model, metadata);
    }

    /// <summary>
    /// The model and metadata of <see cref="Load"/> read structurally: weights above 64 KiB stay in the file (deferred
    /// tensors). For quantize, which hands the path to the run, and the run reads the weights layer by layer.
    /// </summary>
    public static (Model Model, ArtifactMetadata? Artifact) LoadStructure(string path) =>
        Phrased(path, () => DSConvArtifact.Load(Existing(path)));

    private static string Existing(string path) =>
        File.Exists(path) ? path : throw new CliException($"model file '{path}' does not exist.");

    private static T Phrased<T>(string path, Func<T> read)
    {
        try
        {
            return read();
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
