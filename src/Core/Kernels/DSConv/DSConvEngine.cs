using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Execution;
using DSConvService.Core.Hardware;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Threading;
using DSConvService.Core.Kernels.DSConv.Native;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// Runs one DSConv layer: y = act(conv(x̂, ŵ) + bias) (DESIGN 2.3). The integer path BFP-quantizes the
/// input once (<see cref="BfpPacker"/>), then runs 4-row × 32-pixel micro-kernels over weight panels
/// packed here, once; per block one float multiply-add. On small maps the AVX-512 kernel turns around
/// (<see cref="ChannelVectorPath"/>: 32 output channels × 4 pixels, tiles of valid pixels only); 1×1 images
/// run as fully connected rows. The float path (<see cref="FloatConvPath"/>: x̂, then the fp32 direct
/// convolution or GEMM with ŵ, which is the same formula evaluated in float) takes layers with float
/// activations, depthwise layers, layers with KDS bias or CDS bias, and, under <see cref="DSConvIsa.Auto"/>,
/// layers whose channel blocks hold at most 4 channels (the RGB stem). <see cref="DSConvPath.Choose"/> makes
/// every one of these choices; every packer, store and kernel asks the <see cref="Capabilities"/> captured
/// when the layer was built. All per-run memory comes from the caller's scratch.
/// </summary>
public sealed unsafe class DSConvEngine
{
    private static readonly int MaxWorkers = Math.Clamp(Environment.ProcessorCount, 1, 16);
    private readonly PackedWeights? _packed;
    private readonly FloatConvPath? _float;
    // The fully connected forms of a 1×1 layer, packed on the first run that meets a 1×1 image: a pointwise
    // convolution over real maps never needs them, and packing them for every layer cost 1–2 bytes per weight.
    private readonly Lazy<DenseLayer>? _denseLazy;
    private readonly DenseLayout _denseLayout;

    private sealed record DenseLayer(DenseRowWeights Rows, DensePanelWeights? Panels);

    private DenseRowWeights DenseRows => _denseLazy!.Value.Rows;
    private DensePanelWeights? DensePanels => _denseLazy!.Value.Panels;
    private readonly float[] _bias;
    private readonly int _int16Steps;

    /// <summary>
    /// Steps of K (4 channels each) up to which the GEMM runs panel-outer (see RunItem). MobileNetV2, 1 thread, against
    /// tile-outer in alternation: 16→96 at 112×112 1.40–1.59 → 0.69–1.11 ms, 24→144 at 56×56 0.68–0.78 → 0.29–0.44 ms;
    /// at 64 channels and more it was no better.
    /// </summary>
    private const int ShortK = 8;

    // The layer's AVX2 tiles run on Avx2FoldedKernel (the block sum fits int16 with the offset taken out).
    private readonly bool _foldedCorrection;
    private readonly bool _residual;
    private readonly Lazy<ChannelVectorPath>? _channel;
    private readonly DSConvLayerSpec _spec;
    private readonly DSConvIsa _requested;
    private readonly KernelCensus? _census;
    private volatile ShapePath? _lastPath;

    /// <param name="isa">Kernel to use; <see cref="DSConvIsa.Auto"/> picks the fastest one the capabilities allow.
    /// An explicit kernel also keeps tiny-block layers on the integer path (tests).</param>
    /// <param name="residual">True when every run adds a residual tensor of the output's shape before the
    /// activation (y = act(conv + bias + residual), the fused_residual input of DSConvConv).</param>
    /// <param name="capabilities">What the layer's code may use; null: <see cref="CpuCapabilities.Current"/>
    /// (the hardware capped by DSCONV_ISA, or what a test forced).</param>
    /// <param name="keepWeights">Keep <paramref name="weights"/> (their int8 codes, one byte per weight) after packing, for
    /// <see cref="Weights"/> (tests compare with them); a served layer keeps only its packed forms.</param>
    public DSConvEngine(DSConvWeights weights, int groups, FusedActivation activation, DSConvIsa isa = DSConvIsa.Auto, bool residual = false,
        CpuCapabilities? capabilities = null, bool keepWeights = false)
    {
        _weights = keepWeights ? weights : null;
        Format = weights.Format;
        Groups = groups;
        Activation = activation;
        Capabilities = capabilities ?? CpuCapabilities.Current;
        _census = Capabilities.Census;
        _residual = residual;
        _requested = isa;
        _spec = DSConvLayerSpec.Of(weights, groups);
        var f = weights.Format;
        _bias = weights.Bias ?? new float[weights.O];
        LayerPath = DSConvPath.Choose(_spec, null, Capabilities, isa);
        UsesFloatPath = LayerPath.Kind == DSConvPathKind.Float;
        if (UsesFloatPath)
        {
            // With a residual the float path stops before the activation; RunFloat adds the residual, then activates.
            _float = new FloatConvPath(weights, weights.Effective(), groups, residual ? FusedActivation.None : activation, Capabilities);
            Isa = DSConvIsa.Scalar;
            return;
        }
        isa = LayerPath.Kernel!.Value;
        Isa = isa;
        var split = DSConvIsaSupport.NeedsNibbleSplit(isa, f.WeightBits, f.MantissaBits);
        var wide = DSConvIsaSupport.UsesWideWeights(isa, f.WeightBits, f.MantissaBits);
        _packed = new PackedWeights(weights, groups, 1 << (f.MantissaBits - 1), split, wide);
        _int16Steps = Math.Max(1, DSConvIsaSupport.Int16Steps(split ? 4 : f.WeightBits, f.MantissaBits));
        _foldedCorrection = DSConvIsaSupport.UsesFoldedCorrection(isa, f.WeightBits, f.MantissaBits, _packed.StepsPerBlock);
        if (DSConvIsaSupport.IsAvx512(isa))
        {
            // Packed on the first run that needs it: only layers that meet small maps pay for a second copy.
            // Locals only: a lambda over a parameter shares the parameters' closure, which holds the weights.
            var (packed, steps, bias, act, vnni) = (_packed, _int16Steps, _bias, activation, isa == DSConvIsa.Avx512Vnni);
            _channel = new Lazy<ChannelVectorPath>(() => new ChannelVectorPath(packed, bias, act, steps, vnni));
        }
        if (groups == 1 && weights.KH == 1 && weights.KW == 1)
        {
            _denseLayout = DenseRowWeights.Layout(weights);
            _denseLazy = new Lazy<DenseLayer>(() =>
            {
                var rows = new DenseRowWeights(weights);
                return new DenseLayer(rows, isa switch
                {
                    DSConvIsa.Avx512Int16 or DSConvIsa.Avx512Vnni => new DensePanelWeights(rows, DensePanelKernel.Rows),
                    DSConvIsa.Avx2 or DSConvIsa.AvxVnni => new DensePanelWeights(rows, DensePanelKernel256.Rows),
                    _ => null,
                });
            });
        }
    }

    private readonly DSConvWeights? _weights;

    /// <summary>The weights the engine was built from, when it was asked to keep them (a 1x1 layer keeps them anyway until it packs its dense forms).</summary>
    public DSConvWeights Weights => _weights ?? throw new InvalidOperationException("The engine keeps no weights once packed; build it with keepWeights: true to read them.");

    public DSConvFormat Format { get; }
    public int Groups { get; }
    public FusedActivation Activation { get; }
    public DSConvIsa Isa { get; }

    /// <summary>What this layer's packers, stores and kernels may use (captured when it was built).</summary>
    public CpuCapabilities Capabilities { get; }

    /// <summary>The layer's path for every input size (<see cref="DSConvPath.Choose"/> without a shape).</summary>
    public DSConvPath LayerPath { get; }

    /// <summary>The path a run with input shape <paramref name="s"/> takes (<see cref="DSConvPath.Choose"/>).</summary>
    public DSConvPath Path(in ConvShape s)
    {
        if (UsesFloatPath)
        {
            return LayerPath;
        }
        var last = _lastPath;
        if (last is not null && last.Shape == s)
        {
            return last.Path;
        }
        var path = DSConvPath.Choose(_spec, s, Capabilities, _requested, ChannelVector);
        _lastPath = new ShapePath(s, path);
        return path;
    }

    private sealed record ShapePath(ConvShape Shape, DSConvPath Path);

    /// <summary>
    /// Null (default): the integer GEMM runs vectors across output channels (<see cref="ChannelVectorPath"/>)
    /// when that computes fewer padded products (<see cref="ChannelVectorPath.Worthwhile"/>: maps of 28×28 and
    /// smaller with ≥ 32 output channels); true/false force that path on/off (tests).
    /// Only the 512-bit kernels have it.
    /// </summary>
    public bool? ChannelVector { get; init; }

    /// <summary>True when the layer's integer GEMM runs on <see cref="ChannelVectorPath"/> for this shape.</summary>
    public bool UsesChannelVectorPath(in ConvShape s) => Path(s).Kind == DSConvPathKind.ChannelVector;

    /// <summary>True when the layer runs as x̂ then a float convolution (see the class remarks).</summary>
    public bool UsesFloatPath { get; }

    public long ScratchFloats(in ConvShape s) =>
        UsesFloatPath
            ? _float!.ScratchFloats(s, !Format.FloatActivations)
            : UsesDensePath(s)
                ? DenseScratchFloats(s.N)
                : (new DSConvLayout(s, _packed!, MaxWorkers).TotalBytes + 3) / 4;

    /// <summary>
    /// True when the layer runs as rows of a fully connected layer (<see cref="DenseRowKernel"/>): 1x1 images,
    /// where a 32-pixel tile per image would waste 31/32 of the work.
    /// </summary>
    public bool UsesDensePath(in ConvShape s) => Path(s).Kind is DSConvPathKind.DenseRow or DSConvPathKind.DensePanel;

    /// <param name="residual">Null, or a tensor of y's shape added before the activation (engine built with residual: true).</param>
    /// <param name="gate">Null, or [N, C] factors (or [N] for one per image): the layer's input is x·gate broadcast over the
    /// pixels, the squeeze-and-excitation Mul folded in (<see cref="Passes.GateFusion"/>). The integer paths multiply as
    /// they pack; the float and dense paths make x·gate first.</param>
    public void Run(float[] x, in ConvShape s, float[] y, float[] scratch, int threads, float[]? residual = null, float[]? gate = null)
    {
        if (_residual != residual is not null)
        {
            throw new ArgumentException(_residual ? "This layer adds a residual: pass one." : "This layer was built without a residual.");
        }
        var workers = Math.Clamp(threads, 1, MaxWorkers);
        var kind = Path(s).Kind;
        if (gate is not null && (kind is DSConvPathKind.Float or DSConvPathKind.DenseRow or DSConvPathKind.DensePanel || gate.Length != (long)s.N * s.C))
        {
            var gated = Gated(x, s, gate);
            Run(gated, s, y, scratch, threads, residual);
            return;
        }
        if (kind == DSConvPathKind.Float)
        {
            _float!.Run(x, s, Format, y, scratch, workers);
            if (residual is not null)
            {
                AddResidual(y, residual, (long)s.N * s.O * s.OutPixels, workers);
            }
            return;
        }
        if (kind is DSConvPathKind.DenseRow or DSConvPathKind.DensePanel)
        {
            RunDense(x, s, y, scratch, workers, residual);
            return;
        }
        RunInteger(x, s, y, scratch, workers, residual, kind == DSConvPathKind.ChannelVector, gate);
    }

    /// <summary>x·gate with the gate broadcast over each image's pixels (and over its channels when it has one per image).</summary>
    private static float[] Gated(float[] x, in ConvShape s, float[] gate)
    {
        var perImage = gate.Length / s.N;
        var y = new float[x.Length];
        for (var n = 0; n < s.N; n++)
        {
            for (var c = 0; c < s.C; c++)
            {
                var g = gate[n * perImage + (perImage == 1 ? 0 : c)];
                var at = ((long)n * s.C + c) * s.InPixels;
                System.Numerics.Tensors.TensorPrimitives.Multiply(x.AsSpan((int)at, s.InPixels), g, y.AsSpan((int)at, s.InPixels));
            }
        }
        return y;
    }

    /// <summary>Below this many multiply-adds a layer runs on the calling thread: a dispatch would cost more.</summary>
    private const long DenseParallelMacs = 1 << 18;

    /// <summary>Scratch of the dense path: sbyte mantissas, block scales, int16 mantissas (panel kernel).</summary>
    private long DenseScratchFloats(int batch) => MantissaFloats(batch) + (long)batch * _denseLayout.Blocks + ((long)batch * _denseLayout.RowStride + 1) / 2;

    private long MantissaFloats(int batch) => ((long)batch * _denseLayout.RowStride + 3) / 4;

    private void RunDense(float[] x, ConvShape s, float[] y, float[] scratch, int workers, float[]? residual)
    {
        var d = DenseRows;
        var f = Format;
        var rowsPerChunk = DensePanels?.Rows ?? 16;
        fixed (float* px = x, py = y, ps = scratch, pbias = _bias, pres = residual)
        {
            var m = (sbyte*)ps;
            var scales = ps + MantissaFloats(s.N);
            var wide = (short*)(scales + (long)s.N * d.Blocks);
            _census?.Ran(nameof(DenseRowPacker), "scalar");
            _census?.Ran("DenseKernel", DSConvIsaSupport.Level(Isa));
            for (var n = 0; n < s.N; n++)
            {
                DenseRowPacker.Pack(px + (long)n * d.K, d.K, f, d.BlockStride, m + (long)n * d.RowStride, scales + (long)n * d.Blocks);
            }
            if (DensePanels is not null)
            {
                var count = (long)s.N * d.RowStride;
                long i = 0;
                if (Avx2.IsSupported)
                {
                    for (; i + 16 <= count; i += 16)
                    {
                        Vector256.Store(Avx2.ConvertToVector256Int16(m + i), wide + i);
                    }
                }
                for (; i < count; i++)
                {
                    wide[i] = m[i];
                }
            }
            var ctx = new DenseContext { M = (nint)m, Wide = (nint)wide, Scales = (nint)scales, Bias = (nint)pbias, Y = (nint)py, Residual = (nint)pres, Batch = s.N };
            var chunks = (d.O + rowsPerChunk - 1) / rowsPerChunk;
            if (workers == 1 || s.Macs < DenseParallelMacs)
            {
                DenseChunks(ctx, 0, chunks);
                return;
            }
            CpuParallel.For(chunks, workers, (a, b) => DenseChunks(ctx, a, b));
        }
    }

    private readonly struct DenseContext
    {
        public nint M { get; init; }
        public nint Wide { get; init; }
        public nint Scales { get; init; }
        public nint Bias { get; init; }
        public nint Y { get; init; }
        public nint Residual { get; init; }
        public int Batch { get; init; }
    }

    /// <summary>Output rows of chunks [c0, c1) (16 rows each, or one panel each) for every row of the batch.</summary>
    private void DenseChunks(in DenseContext ctx, int c0, int c1)
    {
        var d = DenseRows;
        if (DensePanels is null)
        {
            fixed (sbyte* pq = d.Q)
            fixed (float* pxi = d.Xi)
            {
                for (var n = 0; n < ctx.Batch; n++)
                {
                    DenseRowKernel.Run(Isa, (sbyte*)ctx.M + (long)n * d.RowStride, (float*)ctx.Scales + (long)n * d.Blocks, pq, pxi, (float*)ctx.Bias,
                        d.Blocks, d.BlockStride, c0 * 16, Math.Min(d.O, c1 * 16), (float*)ctx.Y + (long)n * d.O,
                        ctx.Residual == 0 ? null : (float*)ctx.Residual + (long)n * d.O, Activation);
                }
            }
            return;
        }
        var p = DensePanels;
        var rows = p.Rows;
        // Up to 4 rows of the batch per kernel call (the AVX2 panels widen each weight pair once for all of them).
        var c = stackalloc float[4 * rows];
        fixed (sbyte* pq = p.Q)
        fixed (float* pxi = p.Xi)
        {
            for (var panel = c0; panel < c1; panel++)
            {
                var o0 = panel * rows;
                var valid = Math.Min(rows, d.O - o0);
                var w = pq + (long)panel * p.PanelLength;
                var xi = pxi + (long)panel * d.Blocks * rows;
                for (var n = 0; n < ctx.Batch;)
                {
                    var m = (short*)ctx.Wide + (long)n * d.RowStride;
                    var s = (float*)ctx.Scales + (long)n * d.Blocks;
                    var count = 1;
                    if (rows == DensePanelKernel.Rows)
                    {
                        DensePanelKernel.Run(m, s, w, xi, d.Blocks, d.BlockStride, c);
                    }
                    else if (ctx.Batch - n >= 4)
                    {
                        DensePanelKernel256.Run4(m, d.RowStride, s, w, xi, d.Blocks, d.BlockStride, c);
                        count = 4;
                    }
                    else
                    {
                        DensePanelKernel256.Run(m, s, w, xi, d.Blocks, d.BlockStride, c);
                    }
                    for (var i = 0; i < count; i++, n++)
                    {
                        var yRow = (float*)ctx.Y + (long)n * d.O + o0;
                        var res = ctx.Residual == 0 ? null : (float*)ctx.Residual + (long)n * d.O + o0;
                        for (var r = 0; r < valid; r++)
                        {
                            yRow[r] = Activation.Apply(c[i * rows + r] + ((float*)ctx.Bias)[o0 + r] + (res == null ? 0f : res[r]));
                        }
                    }
                }
            }
        }
    }

    private void AddResidual(float[] y, float[] residual, long count, int workers)
    {
        var act = Activation;
        fixed (float* py = y, pr = residual)
        {
            var ay = (nint)py;
            var ar = (nint)pr;
            const int chunk = 16384;
            CpuParallel.For((int)((count + chunk - 1) / chunk), workers, (a, b) =>
            {
                for (var i = a; i < b; i++)
                {
                    var start = (long)i * chunk;
                    var p = (float*)ay + start;
                    EpilogueKernel.BiasActivate(p, p, (int)Math.Min(chunk, count - start), 0f, act, (float*)ar + start, Capabilities);
                }
            });
        }
    }

    /// <summary>
    /// Packed input bytes of a batch above which the pixel-vector GEMM runs image by image: packing all images first
    /// leaves the tiles' activations in L3 when they exceed L2. MobileNetV2 at batch 8, 1 thread: the 144→24 and 96→24
    /// projections at 56×56 took 2.0x their batch-1 time per image.
    /// </summary>
    private const long BatchPackedBytes = 512 * 1024;

    /// <summary>
    /// Input bytes of a layer above which its packer prefetches: the batch's input then comes from memory (MobileNetV2
    /// batch 8, 1 thread: 144→24 at 56×56 0.50 → 0.40 ms per image); at batch 1 it is in cache and the prefetches only cost.
    /// </summary>
    private const long PrefetchInputBytes = 8L << 20;

    private void RunInteger(float[] x, ConvShape s, float[] y, float[] scratch, int workers, float[]? residual, bool channelVector, float[]? gate)
    {
        fixed (float* px = x, py = y, ps = scratch, pres = residual, pgate = gate)
        {
            var prefetch = (long)s.N * s.C * s.InPixels * sizeof(float) > PrefetchInputBytes;
            var one = s with { N = 1 };
            if (s.N == 1 || channelVector || s.N * s.Groups * PackedBytesPerGroup(one) <= BatchPackedBytes)
            {
                RunInteger(px, s, py, ps, workers, pres, channelVector, prefetch, pgate);
                return;
            }
            // Each worker takes whole images with its own part of the scratch (one fork-join per layer, not two per image),
            // when the batch's scratch holds a single-image layout per worker; else the images in turn on all workers.
            var imageFloats = (new DSConvLayout(one, _packed!, MaxWorkers).TotalBytes + 63) / 64 * 16;
            var parts = Math.Min(workers, s.N);
            var byImage = parts > 1 && parts * imageFloats <= scratch.Length;
            var (ax, ay, ares, ascratch, agate) = ((nint)px, (nint)py, (nint)pres, (nint)ps, (nint)pgate);
            var shape = s;
            CpuParallel.For(byImage ? parts : 1, byImage ? parts : 1, (p0, p1) =>
            {
                for (var part = p0; part < p1; part++)
                {
                    var (first, end) = byImage ? CpuParallel.Chunk(shape.N, parts, part) : (0, shape.N);
                    var mem = (float*)ascratch + (byImage ? part * imageFloats : 0);
                    for (var n = first; n < end; n++)
                    {
                        var yOffset = (long)n * shape.O * shape.OutPixels;
                        RunInteger((float*)ax + (long)n * shape.C * shape.InPixels, one, (float*)ay + yOffset, mem, byImage ? 1 : workers,
                            ares == 0 ? null : (float*)ares + yOffset, false, prefetch, agate == 0 ? null : (float*)agate + (long)n * shape.C);
                    }
                }
            });
        }
    }

    private long PackedBytesPerGroup(in ConvShape oneImage)
    {
        var layout = new DSConvLayout(oneImage, _packed!, MaxWorkers);
        return layout.QuantBytesPerGroup + layout.ScaleBytesPerGroup;
    }

    private void RunInteger(float* px, ConvShape s, float* py, float* ps, int workers, float* pres, bool channelVector, bool prefetch, float* gate)
    {
        var ag = (nint)gate;
        var w = _packed!;
        var f = Format;
        var layout = new DSConvLayout(s, w, MaxWorkers);
        fixed (float* pxi = w.Xi, pbias = _bias)
        fixed (sbyte* pq = w.Q)
        fixed (int* pcorr = w.Correction, ppairs = w.CorrectionPairs)
        {
            var mem = (nint)ps;
            var ax = (nint)px;
            var nbg = w.Nbg;
            var steps = w.StepsPerBlock;

            // 1. BFP-quantize the input once: one unit per (image, group, channel block).
            // Small inputs (below 8192 values: 32 channels of 16×16) are packed on the calling thread: a dispatch
            // would cost more. The 512×7×7 inputs of ResNet18's last stage measured 1–3 % faster on both threads.
            var packers = (long)s.N * s.C * s.InPixels < 8192 ? 1 : workers;
            // Fewer blocks than twice the workers (a batch-1 layer of at most 32 input channels is one block):
            // the blocks are cut into row ranges so that every worker packs.
            var blocks = s.N * s.Groups * nbg;
            var ranges = packers > 1 && blocks < 2 * packers ? Math.Min(s.H, (2 * packers + blocks - 1) / blocks) : 1;
            var height = s.H;
            CpuParallel.For(blocks * ranges, packers, (a, b) =>
            {
                for (var v = a; v < b; v++)
                {
                    var range = v % ranges;
                    var u = v / ranges;
                    var j = u % nbg;
                    var unit = u / nbg;
                    var n = unit / s.Groups;
                    var g = unit % s.Groups;
                    var c0 = g * s.Cg + j * f.BlockSize;
                    BfpPacker.PackBlock((float*)ax + ((long)n * s.C + c0) * s.InPixels, Math.Min(f.BlockSize, s.Cg - j * f.BlockSize), s.H, s.W, f, steps,
                        (uint*)((byte*)mem + layout.QuantPlane(unit, j, 0)), (float*)((byte*)mem + layout.ScalePlane(unit, j)),
                        layout.Geometry, Capabilities, height * range / ranges, height * (range + 1) / ranges, prefetch,
                        ag == 0 ? null : (float*)ag + (long)n * s.C + c0);
                }
            });

            // 2. Where each k-step / k-block of a tile lives (relative to the tile's A and S bases).
            var aOff = (int*)((byte*)mem + layout.AOffsetsOffset);
            var sOff = (int*)((byte*)mem + layout.SOffsetsOffset);
            for (var t = 0; t < w.Taps; t++)
            {
                var tapOffset = layout.Geometry.TapOffset(t / s.KW, t % s.KW, s.DilationH, s.DilationW);
                for (var j = 0; j < nbg; j++)
                {
                    // Nibble-split weights: virtual blocks 2·kb and 2·kb+1 read the same activations.
                    var copies = w.SplitNibbles ? 2 : 1;
                    for (var h = 0; h < copies; h++)
                    {
                        var kb = (t * nbg + j) * copies + h;
                        sOff[kb] = j * layout.PlaneLength + tapOffset;
                        for (var st = 0; st < steps; st++)
                        {
                            aOff[kb * steps + st] = ((j * steps + st) * layout.PlaneLength + tapOffset) * 4;
                        }
                    }
                }
            }

            if (channelVector)
            {
                _census?.Ran(nameof(ChannelVectorPath), "avx512");
                _channel!.Value.Run(s, layout, (byte*)mem, aOff, sOff, py, pres, workers);
                return;
            }

            if (Capabilities.Avx512)
            {
                TileStoreMap.Build((TileStoreMap*)((byte*)mem + layout.StoreMapsOffset), layout.TilesPerImage, layout.GridWidth, s.OH, s.OW);
            }

            // 3. GEMM over work items (image, group, O-chunk, tile group); each worker takes a contiguous range.
            var units = s.N * s.Groups;
            var oChunks = Math.Clamp((2 * workers + units * layout.TileGroups - 1) / (units * layout.TileGroups), 1, w.Panels);
            var items = units * oChunks * layout.TileGroups;
            var ctx = new GemmContext
            {
                Mem = mem, Y = (nint)py, Residual = (nint)pres, Q = (nint)pq, Xi = (nint)pxi, Correction = (nint)pcorr, Bias = (nint)pbias,
                CorrectionPairs = _foldedCorrection ? (nint)ppairs : 0, AStride = layout.PlaneLength * 4,
                AOffsets = (nint)aOff, SOffsets = (nint)sOff, OChunks = oChunks, TileKernel = Path(s).Kernel ?? Isa,
            };
            var parts = Math.Min(workers, items);
            CpuParallel.For(parts, parts, (a, b) =>
            {
                for (var worker = a; worker < b; worker++)
                {
                    var first = (int)((long)items * worker / parts);
                    var last = (int)((long)items * (worker + 1) / parts);
                    for (var item = first; item < last; item++)
                    {
                        RunItem(ctx, s, layout, worker, item);
                    }
                }
            });
        }
    }

    private readonly struct GemmContext
    {
        public nint Mem { get; init; }
        public nint Y { get; init; }
        public nint Residual { get; init; }
        public nint Q { get; init; }
        public nint Xi { get; init; }
        public nint Correction { get; init; }

        /// <summary><see cref="PackedWeights.CorrectionPairs"/> when the layer runs on <see cref="Avx2FoldedKernel"/>, else 0.</summary>
        public nint CorrectionPairs { get; init; }

        /// <summary>Bytes between the steps of one block in the packed input: one plane of channel quads.</summary>
        public int AStride { get; init; }
        public nint Bias { get; init; }
        public nint AOffsets { get; init; }
        public nint SOffsets { get; init; }
        public int OChunks { get; init; }

        /// <summary>The micro-kernel of the 32-pixel tiles for this shape (<see cref="DSConvPath.Choose"/>; may differ from <see cref="Isa"/>).</summary>
        public DSConvIsa TileKernel { get; init; }
    }

    private void RunItem(in GemmContext ctx, in ConvShape s, in DSConvLayout layout, int worker, int item)
    {
        var w = _packed!;
        var tg = item % layout.TileGroups;
        var rest = item / layout.TileGroups;
        var oc = rest % ctx.OChunks;
        var unit = rest / ctx.OChunks;
        var n = unit / s.Groups;
        var g = unit % s.Groups;
        var tile0 = tg * layout.TileGroup;
        var tile1 = Math.Min(layout.TilesPerImage, tile0 + layout.TileGroup);
        var panel0 = (int)((long)w.Panels * oc / ctx.OChunks);
        var panel1 = (int)((long)w.Panels * (oc + 1) / ctx.OChunks);
        var mem = (byte*)ctx.Mem;
        var workerMem = mem + layout.WorkersOffset + worker * layout.WorkerBytes;
        var c = (float*)workerMem;
        var quant = mem + layout.QuantPlane(unit, 0, 0);
        var scales = (float*)(mem + layout.ScalePlane(unit, 0));
        var args = new TileArgs
        {
            AOffsets = (int*)ctx.AOffsets,
            SOffsets = (int*)ctx.SOffsets,
            KBlocks = w.KBlocks,
            StepsPerBlock = w.StepsPerBlock,
            Int16Steps = Math.Min(_int16Steps, w.StepsPerBlock),
            AStride = ctx.AStride,
            C = c,
        };
        // Keep the smaller operand hot: when this chunk's weight panels fit in L2, each tile stays in L1
        // while the panels stream past it; otherwise each panel stays while the tiles (L2) stream past.
        // With at most ShortK steps of K a tile costs less to compute than to store, and tile-outer writes every
        // output plane of the chunk at once (96 streams for MobileNetV2's 16→96 expansion): panel-outer writes
        // 4 planes in order while the tiles, small at that K, come from L2.
        var panelBytes = (long)w.KSteps * PackedWeights.Rows * 4;
        var tileOuter = (panel1 - panel0) * panelBytes <= 512 * 1024 && w.KSteps > ShortK;
        var outer = tileOuter ? tile1 - tile0 : panel1 - panel0;
        var inner = tileOuter ? panel1 - panel0 : tile1 - tile0;
        if (ctx.TileKernel == DSConvIsa.Avx512Int16)
        {
            _census?.Ran("MicroKernel", DSConvIsaSupport.Level(DSConvIsa.Avx512Int16));
            // The kernel writes y from its registers (no C tile in memory, no second pass over it).
            var sink = new PlaneSink(Activation) { PlaneStride = s.OutPixels };
            for (var i = 0; i < outer; i++)
            {
                for (var k = 0; k < inner; k++)
                {
                    var tile = tile0 + (tileOuter ? i : k);
                    var panel = panel0 + (tileOuter ? k : i);
                    PointAt(ref args, ctx, w, g, panel, quant, scales, tile);
                    var og0 = panel * PackedWeights.Rows;
                    var o0 = g * s.Og + og0;
                    var planeOffset = ((long)n * s.O + o0) * s.OutPixels;
                    sink.Planes = (float*)ctx.Y + planeOffset;
                    sink.Residual = ctx.Residual == 0 ? null : (float*)ctx.Residual + planeOffset;
                    sink.Bias = (float*)ctx.Bias + o0;
                    sink.Rows = Math.Min(PackedWeights.Rows, w.Og - og0);
                    sink.Map = (TileStoreMap*)(mem + layout.StoreMapsOffset + (long)tile * TileStoreMap.Bytes);
                    Avx512Int16Kernel.Run(args, ref sink);
                }
            }
            return;
        }
        // AVX2: tiles whose 32 pixels are one run of the output planes are written from the kernel's registers
        // (unless the activation calls exp, which would spill the kernel's accumulators).
        var runSink = new RunSink256(Activation) { PlaneStride = s.OutPixels };
        var runTiles = Isa == DSConvIsa.Avx2 && layout.GridWidth == s.OW && Activation.IsPiecewiseLinear ? s.OutPixels / TileArgs.Pixels : 0;
        for (var i = 0; i < outer; i++)
        {
            for (var k = 0; k < inner; k++)
            {
                var tile = tile0 + (tileOuter ? i : k);
                var panel = panel0 + (tileOuter ? k : i);
                PointAt(ref args, ctx, w, g, panel, quant, scales, tile);
                if (tile < runTiles)
                {
                    _census?.Ran("MicroKernel", "avx2");
                    _census?.Ran("Store", "avx2");
                    var og0 = panel * PackedWeights.Rows;
                    var o0 = g * s.Og + og0;
                    var at = ((long)n * s.O + o0) * s.OutPixels + tile * TileArgs.Pixels;
                    runSink.Planes = (float*)ctx.Y + at;
                    runSink.Residual = ctx.Residual == 0 ? null : (float*)ctx.Residual + at;
                    runSink.Bias = (float*)ctx.Bias + o0;
                    runSink.Rows = Math.Min(PackedWeights.Rows, w.Og - og0);
                    if (w.WideWeights)
                    {
                        Avx2WideKernel.Run(args, ref runSink);
                    }
                    else
                    {
                        Avx2Kernel.Run(args, ref runSink);
                    }
                    continue;
                }
                RunKernel(args);
                if (Capabilities.Avx512)
                {
                    _census?.Ran("Store", "avx512");
                    var og0 = panel * PackedWeights.Rows;
                    var o0 = g * s.Og + og0;
                    var planeOffset = ((long)n * s.O + o0) * s.OutPixels;
                    TileStore.Run(c, Math.Min(PackedWeights.Rows, w.Og - og0), (TileStoreMap*)(mem + layout.StoreMapsOffset + (long)tile * TileStoreMap.Bytes),
                        (float*)ctx.Y + planeOffset, ctx.Residual == 0 ? null : (float*)ctx.Residual + planeOffset, s.OutPixels, (float*)ctx.Bias + o0, Activation);
                }
                else
                {
                    _census?.Ran("Store", "scalar");
                    Store(ctx, s, layout, c, n, g, panel, tile);
                }
            }
        }
    }

    /// <summary>Points the micro-kernel's arguments at weight panel <paramref name="panel"/> of group <paramref name="g"/> and pixel tile <paramref name="tile"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void PointAt(ref TileArgs args, in GemmContext ctx, PackedWeights w, int g, int panel, byte* quant, float* scales, int tile)
    {
        args.Q = (sbyte*)ctx.Q + w.QOffset(g, panel);
        args.Xi = (float*)ctx.Xi + w.BlockOffset(g, panel);
        args.Correction = (int*)ctx.Correction + w.BlockOffset(g, panel);
        args.CorrectionPairs = ctx.CorrectionPairs == 0 ? null : (int*)ctx.CorrectionPairs + w.BlockOffset(g, panel);
        args.A = quant + tile * TileArgs.Pixels * 4;
        args.S = scales + tile * TileArgs.Pixels;
    }

    private void RunKernel(in TileArgs args)
    {
        _census?.Ran("MicroKernel", DSConvIsaSupport.Level(Isa));
        switch (Isa)
        {
            case DSConvIsa.Avx512Int16:
                Avx512Int16Kernel.Run(args);
                break;
            case DSConvIsa.Avx512Vnni:
                Avx512VnniKernel.Run(args);
                break;
            case DSConvIsa.AvxVnni:
                AvxVnniKernel.Run(args);
                break;
            case DSConvIsa.Avx2 when _packed!.WideWeights:
                Avx2WideKernel.Run(args);
                break;
            case DSConvIsa.Avx2:
                Avx2Kernel.Run(args);
                break;
            default:
                ScalarKernel.Run(args);
                break;
        }
    }

    /// <summary>Adds the bias, applies the fused activation and writes the tile's valid pixels to y.</summary>
    private void Store(in GemmContext ctx, in ConvShape s, in DSConvLayout layout, float* c, int n, int g, int panel, int tile)
    {
        var og0 = panel * PackedWeights.Rows;
        var rows = Math.Min(PackedWeights.Rows, _packed!.Og - og0);
        var p0 = tile * TileArgs.Pixels;
        for (var r = 0; r < rows; r++)
        {
            var o = g * s.Og + og0 + r;
            var bias = ((float*)ctx.Bias)[o];
            var planeOffset = ((long)n * s.O + o) * s.OutPixels;
            var plane = (float*)ctx.Y + planeOffset;
            var res = ctx.Residual == 0 ? null : (float*)ctx.Residual + planeOffset;
            var row = c + r * TileArgs.Pixels;
            var gw = layout.GridWidth;
            if (gw == s.OW)
            {
                // No padding columns in the grid: the tile's valid pixels are one run of the plane.
                var count = Math.Min(TileArgs.Pixels, s.OutPixels - p0);
                EpilogueKernel.BiasActivate(row, plane + p0, count, bias, Activation, res == null ? null : res + p0, Capabilities);
                continue;
            }
            // The tile covers the output grid OH × Wq; keep columns < OW.
            var i = 0;
            var oy = p0 / gw;
            var ox = p0 - oy * gw;
            while (i < TileArgs.Pixels && oy < s.OH)
            {
                var run = Math.Min(TileArgs.Pixels - i, gw - ox);
                var valid = Math.Min(run, s.OW - ox);
                if (valid > 0)
                {
                    EpilogueKernel.BiasActivate(row + i, plane + oy * s.OW + ox, valid, bias, Activation, res == null ? null : res + oy * s.OW + ox, Capabilities);
                }
                i += run;
                ox = 0;
                oy++;
            }
        }
    }
}
