using DSConvService.Core.Format;
using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Artifact;
using DSConvService.Core.Tensors;
using Xunit;

namespace DSConvService.Core.Tests.Quantization;

/// <summary>
/// Issue 12: one format record end to end. The settings of every layer survive options → DSConv node →
/// artifact file → loaded node (and its metadata), with a per-layer override and the storage type they imply.
/// </summary>
public class FormatRoundTripTests
{
    [Fact]
    public void Options_Reach_Every_Node_And_Come_Back_From_The_Artifact()
    {
        var fp32 = QuantizerTestModels.Mixed();
        var layerNames = fp32.Graph.Nodes.Where(n => n.OpType is "Conv" or "Gemm" or "MatMul").Select(n => n.DisplayName).ToList();
        var overridden = layerNames[2];
        var custom = new DSConvSettings { WeightBits = 6, BlockSize = 8, ActivationBits = 6, ExponentBits = 6 };
        var options = new QuantizationOptions
        {
            Format = new DSConvSettings { WeightBits = 3, BlockSize = 16, ActivationBits = 7, ExponentBits = 7 },
            Layers = new Dictionary<string, DSConvSettings>(StringComparer.Ordinal) { [overridden] = custom },
        };

        var result = DSConvQuantizer.Quantize(fp32, options);
        AssertNodes(result.Quantized, layerNames, options);

        var (loaded, metadata) = DSConvArtifact.Load(result.ToArtifactBytes());
        AssertNodes(loaded, layerNames, options);
        Assert.NotNull(metadata);
        Assert.Equal(options.Format, metadata.Settings);
        Assert.Equal(custom, metadata.For(overridden));
        foreach (var name in layerNames)
        {
            Assert.Equal(options.FormatFor(name), metadata.For(name));
        }
    }

    [Fact]
    public void A_Node_And_The_Kernel_Format_Read_Back_What_Was_Written()
    {
        var settings = new DSConvSettings { WeightBits = 5, BlockSize = 24, ActivationBits = 0, ExponentBits = 5 };
        var node = new Node("DSConvConv", ["x"], ["y"], "layer", "ai.dsconv");
        settings.WriteTo(node);
        Assert.Equal(settings, DSConvSettings.FromNode(node));
        var format = DSConvFormat.Of(settings, depthwise: false);
        Assert.Equal(settings, format.Settings);
        Assert.True(format.FloatActivations);
        Assert.Equal(DataType.Int8, settings.StorageType);
        Assert.Equal(3, format.BlocksPerGroup(70));

        var props = new Dictionary<string, string>();
        settings.WriteTo(props);
        Assert.Equal(settings, DSConvSettings.FromMetadata(props));
    }

    private static void AssertNodes(Model model, IReadOnlyList<string> layerNames, QuantizationOptions options)
    {
        var nodes = model.Graph.Nodes.Where(DSConvNodes.IsDSConv).ToList();
        Assert.Equal(layerNames, nodes.Select(n => n.DisplayName));
        foreach (var node in nodes)
        {
            var expected = options.FormatFor(node.DisplayName);
            Assert.Equal(expected, DSConvSettings.FromNode(node));
            Assert.Equal(expected.StorageType, model.Graph.Initializers[node.Inputs[1]].Type);
        }
    }
}
