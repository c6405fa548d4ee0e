using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Format;
using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.DSConv;

namespace DSConvService.Core.Execution.Ops.DSConv;

/// <summary>The attributes shared by DSConvConv and DSConvGemm: number format, conv geometry and fused activation.</summary>
internal sealed class DSConvAttributes
{
    public DSConvAttributes(Node node, int spatialRank)
    {
        Group = (int)node.GetInt("group", 1);
        Format = DSConvFormat.Of(DSConvSettings.FromNode(node), DSConvSettings.IsDepthwise(node));
        Strides = Ints(node, "strides", spatialRank, 1);
        Dilations = Ints(node, "dilations", spatialRank, 1);
        Pads = Ints(node, "pads", 2 * spatialRank, 0);
        KernelShape = node.GetInts("kernel_shape")?.Select(v => (int)v).ToArray();
        AutoPad = node.GetString("auto_pad", "NOTSET");
        Activation = FusedActivation.FromNode(node);
    }

    public int Group { get; }
    public DSConvFormat Format { get; }
    public int[] Strides { get; }
    public int[] Dilations { get; }
    public int[] Pads { get; }
    public int[]? KernelShape { get; }
    public string AutoPad { get; }
    public FusedActivation Activation { get; }

    /// <summary>Resolves the geometry (auto_pad included) for an input [n, c, h, w] and a weight [o, ·, kh, kw].</summary>
    public ConvShape Resolve(Node node, int n, int c, int h, int w, int o, int kh, int kw)
    {
        if (KernelShape is { Length: 2 } ks && (ks[0] != kh || ks[1] != kw))
        {
            throw Error(node, $"kernel_shape [{ks[0]},{ks[1]}] does not match the weight's [{kh},{kw}].");
        }
        var (top, bottom, oh) = Axis(node, h, kh, Strides[0], Dilations[0], Pads[0], Pads[2]);
        var (left, right, ow) = Axis(node, w, kw, Strides[1], Dilations[1], Pads[1], Pads[3]);
        _ = bottom;
        _ = right;
        return new ConvShape(n, c, h, w, o, Group, kh, kw, Strides[0], Strides[1], top, left, Dilations[0], Dilations[1], oh, ow);
    }

    private (int Begin, int End, int Out) Axis(Node node, int size, int k, int stride, int dilation, int padBegin, int padEnd)
    {
        var extent = (k - 1) * dilation + 1;
        switch (AutoPad)
        {
            case "SAME_UPPER":
            case "SAME_LOWER":
                {
                    var outSize = (size + stride - 1) / stride;
                    var total = Math.Max(0, (outSize - 1) * stride + extent - size);
                    var small = total / 2;
                    var begin = AutoPad == "SAME_UPPER" ? small : total - small;
                    return (begin, total - begin, outSize);
                }
            case "VALID":
                padBegin = 0;
                padEnd = 0;
                break;
            case "NOTSET":
                break;
            default:
                throw Error(node, $"auto_pad '{AutoPad}' is not supported.");
        }
        var o = (size + padBegin + padEnd - extent) / stride + 1;
        if (o < 1)
        {
            throw Error(node, $"the kernel (extent {extent}) does not fit the input size {size} with pads {padBegin},{padEnd}.");
        }
        return (padBegin, padEnd, o);
    }

    private static int[] Ints(Node node, string name, int count, int fallback)
    {
        var v = node.GetInts(name);
        if (v is null || v.Length == 0)
        {
            return Enumerable.Repeat(fallback, count).ToArray();
        }
        if (v.Length != count)
        {
            throw Error(node, $"{name} has {v.Length} values, {count} expected.");
        }
        return v.Select(x => (int)x).ToArray();
    }

    public static InvalidModelException Error(Node node, string message) => new($"{node.OpType} node '{node.DisplayName}': {message}");
}
