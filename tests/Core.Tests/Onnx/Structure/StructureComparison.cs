using DSConvService.Core.Graph;
using Xunit;

namespace DSConvService.Core.Tests.Onnx.Structure;

/// <summary>Asserts that two readings of one file describe the same model, element by element.</summary>
internal static class StructureComparison
{
    public static void AssertSame(Model expected, Model actual, bool compareData)
    {
        Assert.Equal(expected.IrVersion, actual.IrVersion);
        Assert.Equal(expected.ProducerName, actual.ProducerName);
        Assert.Equal(expected.ProducerVersion, actual.ProducerVersion);
        Assert.Equal(expected.Opsets.OrderBy(o => o.Key), actual.Opsets.OrderBy(o => o.Key));
        Assert.Equal(expected.Metadata.OrderBy(o => o.Key), actual.Metadata.OrderBy(o => o.Key));
        AssertSame(expected.Graph, actual.Graph, compareData);
    }

    private static void AssertSame(Graph.Graph expected, Graph.Graph actual, bool compareData)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Inputs.Select(Describe), actual.Inputs.Select(Describe));
        Assert.Equal(expected.Outputs.Select(Describe), actual.Outputs.Select(Describe));
        Assert.Equal(expected.ValueInfos.Values.Select(Describe), actual.ValueInfos.Values.Select(Describe));
        Assert.Equal(expected.Nodes.Count, actual.Nodes.Count);
        for (var i = 0; i < expected.Nodes.Count; i++)
        {
            var (e, a) = (expected.Nodes[i], actual.Nodes[i]);
            Assert.Equal((e.Name, e.OpType, e.Domain), (a.Name, a.OpType, a.Domain));
            Assert.Equal(e.Inputs, a.Inputs);
            Assert.Equal(e.Outputs, a.Outputs);
            Assert.Equal(e.Attributes.Keys, a.Attributes.Keys);
            foreach (var (key, value) in e.Attributes)
            {
                var other = a.Attributes[key];
                Assert.Equal((value.Kind, value.Int, value.Float, value.String), (other.Kind, other.Int, other.Float, other.String));
                Assert.Equal(value.Ints, other.Ints);
                Assert.Equal(value.Floats, other.Floats);
                Assert.Equal(value.Tensor?.Data, other.Tensor?.Data);
            }
        }
        Assert.Equal(expected.Initializers.Keys, actual.Initializers.Keys);
        foreach (var (name, tensor) in expected.Initializers)
        {
            var other = actual.Initializers[name];
            Assert.Equal(tensor.Type, other.Type);
            Assert.Equal(tensor.Shape, other.Shape);
            Assert.Equal(tensor.Length, other.Length);
            if (compareData)
            {
                Assert.Equal(tensor.Data, other.Data);
            }
        }
    }

    private static string Describe(ValueInfo v) =>
        $"{v.Name}:{v.Type}[{(v.Shape is null ? "?" : string.Join(",", v.Shape))}]({(v.DimNames is null ? "" : string.Join(",", v.DimNames))})";
}
