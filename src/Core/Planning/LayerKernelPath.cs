using DSConvService.Core.Hardware;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Quantization;

namespace DSConvService.Core.Planning;

/// <summary>
/// The kernel a quantized layer will run on, as the engine will choose it (<see cref="DSConvPath.Choose"/>
/// on this machine's <see cref="CpuCapabilities"/>, at the layer's planned input size), said as
/// "integer" or "float" with the path and the reason.
/// </summary>
internal static class LayerKernelPath
{
    public static KernelPath For(QuantizedLayer layer)
    {
        var w = layer.Weight;
        var path = DSConvPath.Choose(DSConvLayerSpec.Of(w, layer.Source.Groups), Shape(layer), CpuCapabilities.Current);
        var kind = path.Kind == DSConvPathKind.Float ? KernelPath.Float : KernelPath.Integer;
        var kernel = path.Kernel is { } k ? $"{path.Kind} on {k}" : path.Kind.ToString();
        return new KernelPath(kind, $"{kernel} ({path.Isa}): {path.Reason}");
    }

    // The input geometry of one sample, when the plan knows the layer's shapes.
    private static ConvShape? Shape(QuantizedLayer layer)
    {
        var c = layer.Source;
        if (c.FullyConnected)
        {
            return ConvShape.Dense(1, c.Channels, c.OutChannels);
        }
        if (layer.InputShape is not [_, var ch, var h, var wd] || layer.OutputShape is not [_, _, var oh, var ow])
        {
            return null;
        }
        var strides = c.ConvAttributes["strides"].Ints;
        var pads = c.ConvAttributes["pads"].Ints;
        var dilations = c.ConvAttributes["dilations"].Ints;
        return new ConvShape(1, ch, h, wd, c.OutChannels, c.Groups, c.WeightShape[2], c.WeightShape[3],
            (int)strides[0], (int)strides[1], (int)pads[0], (int)pads[1], (int)dilations[0], (int)dilations[1], oh, ow);
    }
}
