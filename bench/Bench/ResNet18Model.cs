using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Passes;

namespace DSConvService.Bench;

/// <summary>The ImageNet ResNet18 the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 copies next to the bench.</summary>
public static class ResNet18Model
{
    public static string Path => System.IO.Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    /// <summary>
    /// The model with dimension 0 of its inputs and outputs made symbolic ("N") and the value infos
    /// cleared, so any batch size runs (the file fixes batch 1).
    /// </summary>
    public static Model WithSymbolicBatch() => SymbolicBatch.Apply(OnnxReader.Load(Path));

    public static byte[] Bytes(Model model) => OnnxWriter.ToBytes(model);
}
