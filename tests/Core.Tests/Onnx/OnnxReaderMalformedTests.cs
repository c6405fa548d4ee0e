using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using Google.Protobuf;
using Onnx;
using Xunit;

namespace DSConvService.Core.Tests.Onnx;

/// <summary>Attributes whose declared type promises a value the bytes do not hold (found by the ONNX reader fuzzer).</summary>
public sealed class OnnxReaderMalformedTests
{
    [Theory]
    [InlineData(AttributeProto.Types.AttributeType.Graph, "graph")]
    [InlineData(AttributeProto.Types.AttributeType.Tensor, "tensor")]
    public void An_attribute_declared_with_a_value_it_does_not_hold_is_an_invalid_model(AttributeProto.Types.AttributeType type, string what)
    {
        var node = new NodeProto { OpType = "Relu", Name = "r" };
        node.Input.Add("x");
        node.Output.Add("y");
        node.Attribute.Add(new AttributeProto { Name = "body", Type = type });
        var graph = new GraphProto { Name = "g" };
        graph.Node.Add(node);
        graph.Input.Add(new ValueInfoProto { Name = "x" });
        graph.Output.Add(new ValueInfoProto { Name = "y" });
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });

        var e = Assert.Throws<InvalidModelException>(() => OnnxReader.Load(model.ToByteArray()));
        Assert.Contains($"'body' is declared as a {what} but holds none", e.Message);
    }

    [Fact]
    public void A_value_of_an_element_type_the_executor_cannot_hold_is_an_invalid_model()
    {
        var node = new NodeProto { OpType = "Relu", Name = "r" };
        node.Input.Add("x");
        node.Output.Add("y");
        var graph = new GraphProto { Name = "g" };
        graph.Node.Add(node);
        graph.Input.Add(new ValueInfoProto { Name = "x", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 33 } } });
        graph.Output.Add(new ValueInfoProto { Name = "y" });
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });

        var e = Assert.Throws<InvalidModelException>(() => OnnxReader.Load(model.ToByteArray()));
        Assert.Contains("'x' has tensor element type 33", e.Message);
    }
}
