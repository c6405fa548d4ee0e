using DSConvService.Core.Graph;
using DSConvService.Core.Passes;

namespace DSConvService.Core.Execution.Preparation;

/// <summary>The standard pass pipeline run before execution and before quantization.</summary>
public static class GraphOptimizer
{
    /// <summary>
    /// Returns an optimized copy; the given model is not changed. Activation fusion adds
    /// non-ONNX attributes, so the quantizer (which writes files) asks for it to be skipped.
    /// </summary>
    public static Model Optimize(Model model, bool fuseActivations = true)
    {
        var copy = ModelCloner.Clone(model);
        copy.Graph.SortTopologically();
        IdentityRemoval.Run(copy);
        ConstantFolding.Run(copy);
        BatchNormFolding.Run(copy);
        if (fuseActivations)
        {
            ResidualFusion.Run(copy);
            GatedActivationFusion.Run(copy);
            ActivationFusion.Run(copy);
            // After the activations: the SiLU inside a squeeze (x·Sigmoid(x)) is fused into its conv by then, not taken for a gate.
            GateFusion.Run(copy);
        }
        copy.Graph.RemoveUnused();
        return copy;
    }
}
