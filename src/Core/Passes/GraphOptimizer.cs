using DSConvService.Core.Graph;

namespace DSConvService.Core.Passes;

/// <summary>The standard pass pipeline run before execution and before quantization.</summary>
public static class GraphOptimizer
{
    /// <summary>Returns an optimized copy; the given model is not changed.</summary>
    /// <param name="fuseActivations">False for the quantizer, which needs plain Conv/Gemm nodes.</param>
    public static Model Optimize(Model model, bool fuseActivations = true)
    {
        var copy = ModelCloner.Clone(model);
        // TODO(passes): Identity/Dropout removal, constant folding, BatchNorm folding, activation fusion.
        return copy;
    }
}
