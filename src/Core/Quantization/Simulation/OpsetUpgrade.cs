using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Quantization.Simulation;

/// <summary>
/// Moves a model's default-domain opset up to 21 (blocked DequantizeLinear needs it), rewriting
/// the operator forms that changed on the way for the operators CNNs use: BatchNormalization
/// (spatial/is_test dropped), Dropout (ratio attribute dropped), Clip (min/max became inputs),
/// Squeeze/Unsqueeze and the Reduce family (axes became an input). Pad, Slice, Split and Upsample
/// in their old forms are refused with a clear message.
/// </summary>
public static class OpsetUpgrade
{
    public const long Target = 21;

    public static void ToOpset21(Model model)
    {
        var from = model.DefaultOpset;
        model.Opsets.Remove("ai.onnx");
        model.Opsets[""] = Math.Max(from, Target);
        model.IrVersion = Math.Max(model.IrVersion, 10);
        if (from >= Target)
        {
            return;
        }
        var g = model.Graph;
        foreach (var n in g.Nodes.Where(n => n.Domain is "" or "ai.onnx"))
        {
            switch (n.OpType)
            {
                case "BatchNormalization":
                    n.Attributes.Remove("spatial");
                    n.Attributes.Remove("is_test");
                    n.Attributes.Remove("consumed_inputs");
                    break;
                case "Clip" when from < 11:
                    var lo = g.UniqueName(n.DisplayName + "_min");
                    g.Initializers[lo] = Tensor.Scalar(n.GetFloat("min", float.MinValue));
                    var hi = g.UniqueName(n.DisplayName + "_max");
                    g.Initializers[hi] = Tensor.Scalar(n.GetFloat("max", float.MaxValue));
                    n.Attributes.Remove("min");
                    n.Attributes.Remove("max");
                    n.Inputs.RemoveRange(1, n.Inputs.Count - 1);
                    n.Inputs.AddRange([lo, hi]);
                    break;
                case "Squeeze" or "Unsqueeze" or "ReduceSum" when from < 13:
                    AxesToInput(g, n);
                    break;
                case "ReduceMean" or "ReduceMax" or "ReduceMin" or "ReduceProd" or "ReduceL1" or "ReduceL2"
                    or "ReduceLogSum" or "ReduceLogSumExp" or "ReduceSumSquare" when from < 18:
                    AxesToInput(g, n);
                    break;
                case "Dropout" when from < 12:
                    // Inference Dropout is the identity; its old attributes are invalid at opset 12+.
                    n.Attributes.Remove("ratio");
                    n.Attributes.Remove("is_test");
                    n.Attributes.Remove("consumed_inputs");
                    break;
                case "Pad" when from < 11:
                case "Slice" when from < 10:
                case "Upsample":
                case "Split" when from < 13:
                    throw new InvalidModelException($"{n} uses the opset {from} form, which cannot be written at opset {Target} yet.");
            }
        }
    }

    private static void AxesToInput(Graph.Graph g, Node n)
    {
        if (n.GetInts("axes") is not { } axes)
        {
            return;
        }
        var name = g.UniqueName(n.DisplayName + "_axes");
        g.Initializers[name] = Tensor.FromLongs([axes.Length], axes);
        n.Attributes.Remove("axes");
        while (n.Inputs.Count < 1)
        {
            n.Inputs.Add("");
        }
        n.Inputs.Insert(1, name);
    }
}
