using DSConvService.Core.Execution;
using DSConvService.Core.Hardware;
using DSConvService.Core.Kernels.Conv;
using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The float form of a DSConv layer: x̂ (BFP-simulated input, exact in float) convolved with the effective
/// weights ŵ by the fp32 engine's GEMM (im2col panels), its direct depthwise kernel, or, for one group of at most
/// 4 input channels (the RGB stem), the direct <see cref="FewChannelConv"/>. It evaluates the
/// spec conv(x̂, ŵ) itself, so it serves the layers the integer GEMM does not take.
/// </summary>
public sealed unsafe class FloatConvPath
{
    private readonly IGemmMicroKernel _kernel;
    private readonly CpuCapabilities _caps;
    private readonly float[] _weights;
    private readonly float[]? _packed;
    private readonly long _packedPerGroup;
    private readonly float[] _bias;
    private readonly int _groups;
    private readonly int _og;
    private readonly int _k;
    private readonly FusedActivation _activation;
    private readonly FewChannelConv? _direct;

    /// <param name="caps">What the layer's code may use (null: <see cref="CpuCapabilities.Current"/>).</param>
    public FloatConvPath(DSConvWeights w, float[] effective, int groups, FusedActivation activation, CpuCapabilities? caps = null)
    {
        _caps = caps ?? CpuCapabilities.Current;
        _kernel = GemmKernels.For(_caps);
        _weights = GC.AllocateArray<float>(effective.Length, pinned: true);
        effective.CopyTo(_weights, 0);
        _bias = GC.AllocateArray<float>(w.O, pinned: true);
        w.Bias?.CopyTo(_bias, 0);
        _groups = groups;
        _og = w.O / groups;
        _k = w.Cg * w.KH * w.KW;
        _activation = activation;
        Depthwise = w.Cg == 1 && groups > 1;
        if (!Depthwise && FewChannelConv.Applies(groups, w.Cg, w.KH, w.KW, _caps))
        {
            _direct = new FewChannelConv(_weights, w.Bias, w.O, w.Cg, w.KH, w.KW, _activation, _caps);
        }
        else if (!Depthwise)
        {
            _packedPerGroup = Sgemm.PackedAFloats(_kernel, _og, _k);
            _packed = GC.AllocateUninitializedArray<float>((int)(_packedPerGroup * groups), pinned: true);
            fixed (float* src = _weights, dst = _packed)
            {
                for (var g = 0; g < groups; g++)
                {
                    Sgemm.PackA(_kernel, src + (long)g * _og * _k, _k, 1, _og, _k, 1f, dst + g * _packedPerGroup);
                }
            }
        }
    }

    public bool Depthwise { get; }

    /// <summary>True when the layer runs on the direct few-channel kernel (<see cref="FewChannelConv.Applies"/>) instead of im2col + GEMM.</summary>
    public bool Direct => _direct is not null;

    public long ScratchFloats(in ConvShape s, bool simulate) =>
        Depthwise && simulate ? DepthwiseBfpConv.ScratchFloats(Geometry(s)) :
        (simulate ? (long)(SimulatesImageByImage(s) ? 1 : s.N) * s.C * s.InPixels + 16 : 0)
        + (Depthwise ? DepthwiseConv.ScratchFloats(Geometry(s)) : _direct is not null ? FewChannelConv.ScratchFloats(Geometry(s), s.N) : Sgemm.ScratchFloats(_kernel, s.OutPixels, _k) + 16);

    /// <summary>
    /// Whether x̂ is made and convolved one image at a time: where the direct kernel runs the batch image by image
    /// (<see cref="FewChannelConv.RunsImageByImage"/>), so that each image's x̂ is read while it is in cache.
    /// </summary>
    private bool SimulatesImageByImage(in ConvShape s) => _direct is not null && FewChannelConv.RunsImageByImage(Geometry(s), s.N);

    /// <summary>Pixels of one channel block simulated per work unit (a multiple of 16).</summary>
    private const int SimulatePixelsPerUnit = 4096;

    private static ConvGeometry Geometry(in ConvShape s) =>
        new(s.Cg, s.H, s.W, s.KH, s.KW, s.StrideH, s.StrideW, s.DilationH, s.DilationW, s.PadTop, s.PadLeft, s.OH, s.OW);

    public void Run(float[] x, in ConvShape s, DSConvFormat f, float[] y, float[] scratch, int threads)
    {
        fixed (float* px = x, py = y, ps = scratch)
        {
            if (!f.FloatActivations && SimulatesImageByImage(s))
            {
                var one = s with { N = 1 };
                for (var n = 0; n < s.N; n++)
                {
                    RunImage(px + (long)n * s.C * s.InPixels, one, f, py + (long)n * s.O * s.OutPixels, ps, threads);
                }
                return;
            }
            RunImage(px, s, f, py, ps, threads);
        }
    }

    // The batch of s in one pass: x̂ of all of it (unless activations are float), then the convolution.
    private void RunImage(float* px, in ConvShape s, DSConvFormat f, float* py, float* ps, int threads)
    {
        var shape = s;
        fixed (float* pw = _weights, pa = _packed, pb = _bias)
        {
            var input = px;
            var free = ps;
            if (Depthwise && !f.FloatActivations)
            {
                // One value per activation block: x̂ is made plane by plane inside the depthwise loop.
                DepthwiseBfpConv.Run(px, pw, pb, py, s.N, s.C, _og, Geometry(s), _activation, f, ps, threads);
                return;
            }
            if (!f.FloatActivations)
            {
                input = Sgemm.Align64(ps);
                free = input + (long)s.N * s.C * s.InPixels;
                var ax = (nint)px;
                var ad = (nint)input;
                var caps = _caps;
                var nbg = f.ActivationBlocksPerGroup(s.Cg);
                // Units of (image, channel block, pixel range): a batch-1 stem is one block, still split over the threads.
                var ranges = (s.InPixels + SimulatePixelsPerUnit - 1) / SimulatePixelsPerUnit;
                CpuParallel.For(s.N * s.Groups * nbg * ranges, threads, (a, b) =>
                {
                    for (var u = a; u < b; u++)
                    {
                        var range = u % ranges;
                        var j = u / ranges % nbg;
                        var ng = u / ranges / nbg;
                        var c0 = ng % shape.Groups * shape.Cg + j * f.BlockSize;
                        var offset = ((long)(ng / shape.Groups) * shape.C + c0) * shape.InPixels;
                        var start = range * SimulatePixelsPerUnit;
                        BfpSimulator.SimulatePixels((float*)ax + offset, (float*)ad + offset, Math.Min(f.BlockSize, shape.Cg - j * f.BlockSize),
                            shape.InPixels, start, Math.Min(shape.InPixels, start + SimulatePixelsPerUnit), f, caps);
                    }
                });
            }
            var g = Geometry(s);
            if (_direct is not null)
            {
                _caps.Census?.Ran(nameof(FewChannelConv), _direct.Wide ? "avx512" : "avx2");
                _direct.Run(input, s.N, g, py, free, threads);
                return;
            }
            if (Depthwise)
            {
                // The depthwise kernel is written with Vector256 (software fallback without AVX), not chosen by capabilities.
                _caps.Census?.Ran(nameof(DepthwiseConv), "vector256");
                DepthwiseConv.Run(input, pw, pb, py, s.N, s.C, _og, g, _activation, free, threads);
                return;
            }
            _caps.Census?.Ran("FloatGemm", _kernel.Isa.ToString().ToLowerInvariant());
            var panels = Sgemm.Align64(free);
            for (var n = 0; n < s.N; n++)
            {
                for (var grp = 0; grp < _groups; grp++)
                {
                    var xg = input + ((long)n * s.C + (long)grp * s.Cg) * s.InPixels;
                    var yg = py + ((long)n * s.O + (long)grp * _og) * s.OutPixels;
                    var epilogue = new GemmEpilogue(pb + grp * _og, null, _activation);
                    Sgemm.Multiply(_kernel, pa + grp * _packedPerGroup, new Im2ColPanelSource(xg, g), panels, _og, s.OutPixels, _k, yg, s.OutPixels, false, epilogue, threads);
                }
            }
        }
    }
}
