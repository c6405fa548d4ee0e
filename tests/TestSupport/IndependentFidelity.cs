using DSConvService.Core.Execution;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization.Artifact;
using DSConvService.Core.Tensors;

namespace DSConvService.TestSupport;

/// <summary>
/// Top-1 agreement and mean KL of a quantized artifact against its fp32 original, computed here and not by
/// the product's metrics: ONNX Runtime on the fp32 file, this engine on the artifact, one input at a time,
/// KL(softmax(fp32) ‖ softmax(quantized)) by log-sum-exp.
/// </summary>
public static class IndependentFidelity
{
    public static (double Top1Agreement, double MeanKl) Of(byte[] fp32Onnx, byte[] artifact, IReadOnlyList<Tensor> inputs)
    {
        using var ort = new OrtReference(fp32Onnx, 1);
        var session = new InferenceSession(DSConvArtifact.Load(artifact).Model);
        var agree = 0;
        var kl = 0.0;
        foreach (var x in inputs)
        {
            var p = ort.Run(x)[0].Floats;
            var q = session.Run(x)[0].Floats;
            agree += Array.IndexOf(p, p.Max()) == Array.IndexOf(q, q.Max()) ? 1 : 0;
            kl += Kl(p, q);
        }
        return ((double)agree / inputs.Count, kl / inputs.Count);
    }

    private static double Kl(float[] p, float[] q)
    {
        double LogSumExp(float[] v)
        {
            var max = v.Max();
            return max + Math.Log(v.Sum(x => Math.Exp(x - max)));
        }
        var lp = LogSumExp(p);
        var lq = LogSumExp(q);
        return p.Select((x, i) => Math.Exp(x - lp) * ((x - lp) - (q[i] - lq))).Sum();
    }
}
