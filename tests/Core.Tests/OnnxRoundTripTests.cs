using DSConvService.Core.Onnx;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests;

public class OnnxRoundTripTests
{
    [Fact]
    public void Int4_Float16_And_Int64_Tensors_Survive_A_Write_And_Read()
    {
        var b = new ModelBuilder(21);
        var x = b.Input("x", 1, 3);
        var q = b.Initializer(new Tensor(DataType.Int4, [3], new sbyte[] { -8, 7, -1 }), "q");
        var h = b.Initializer(new Tensor(DataType.Float16, [2], new float[] { 0.5f, -2f }), "h");
        var l = b.Longs(1, -3, long.MaxValue);
        b.Output(b.Node("Identity", [x]));
        var model = OnnxReader.Load(b.ToBytes());
        Assert.Equal(new sbyte[] { -8, 7, -1 }, model.Graph.Initializers[q].SBytes);
        Assert.Equal(new float[] { 0.5f, -2f }, model.Graph.Initializers[h].Floats);
        Assert.Equal(DataType.Float16, model.Graph.Initializers[h].Type);
        Assert.Equal(new long[] { 1, -3, long.MaxValue }, model.Graph.Initializers[l].Longs);
        Assert.Equal(21, model.DefaultOpset);
    }

    [Fact]
    public void Garbage_Is_Refused_With_A_Clear_Error()
    {
        var e = Assert.ThrowsAny<Exception>(() => OnnxReader.Load("this is not a model"u8.ToArray()));
        Assert.Contains("not an ONNX model", e.Message);
    }

    [Fact]
    public void External_Data_Is_Refused()
    {
        var proto = new global::Onnx.TensorProto { Name = "w", DataType = 1, DataLocation = global::Onnx.TensorProto.Types.DataLocation.External };
        proto.Dims.Add(2);
        proto.ExternalData.Add(new global::Onnx.StringStringEntryProto { Key = "location", Value = "../../etc/passwd" });
        var e = Assert.ThrowsAny<Exception>(() => TensorProtoConverter.FromProto(proto));
        Assert.Contains("external data", e.Message);
    }
}
