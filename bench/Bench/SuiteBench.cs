using System.Diagnostics;
using DSConvService.Core.Evaluation;
using DSConvService.Core.Execution;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization;
using DSConvService.Core.Tensors;
using DSConvService.Core.Threading;

namespace DSConvService.Bench;

/// <summary>
/// `suite`: every model of the cross-architecture suite (<see cref="SuiteModels"/>) at each batch size, in one
/// process: ONNX Runtime fp32, our fp32 executor and DSConv 4/8/32 (data-free) on our integer engine, plus
/// ResNet18 against ONNX Runtime int8 QDQ. By default the engines are timed in interleaved rounds (one run of
/// each per round), so a burst of load from other processes hits all of them alike, and ONNX Runtime's threads
/// block after a run instead of spin-waiting: with its default spinning they keep both cores busy for a while
/// after each run and slow down whichever engine runs next. `--schedule blocked` times each engine in its own
/// block of runs instead (then ONNX Runtime keeps its default spinning unless `--ort-spinning off`), which is the
/// check that the interleaved figures do not flatter us. Options: --runs N (≥ 20), --warmup N, --threads T,
/// --batches 1,8, --models a,b (names without .onnx), --schedule interleaved|blocked, --ort-spinning on|off;
/// A/B checks: --spin-compare 200,2000 (helper threads' spin), --buffer-compare (the plan's buffer reuse on and off),
/// --epilogue-compare (fp32 GEMM epilogue in registers or in a pass over the stripe).
/// </summary>
public static class SuiteBench
{
    private static bool _blocked;
    private static bool _ortSpinning;
    private static int[]? _spinCompare;
    private static bool _bufferCompare;
    private static bool _epilogueCompare;

    public static int Run(string[] args)
    {
        var only = new List<string>();
        var rest = new List<string>();
        string? spinningArg = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--models")
            {
                only.AddRange(args[++i].Split(','));
            }
            else if (args[i] == "--schedule")
            {
                _blocked = args[++i] switch
                {
                    "blocked" => true,
                    "interleaved" => false,
                    var v => throw new ArgumentException($"--schedule is interleaved or blocked, not {v}."),
                };
            }
            else if (args[i] == "--spin-compare")
            {
                // A/B of the helper threads' spin before sleeping: DSConv timed at both settings in the same rounds.
                _spinCompare = args[++i].Split(',').Select(int.Parse).ToArray();
            }
            else if (args[i] == "--buffer-compare")
            {
                // A/B of the plan's buffer reuse: both engines with and without it in the same rounds.
                _bufferCompare = true;
            }
            else if (args[i] == "--epilogue-compare")
            {
                // A/B of the fp32 GEMM epilogue in the micro-kernel's registers against the stripe pass.
                _epilogueCompare = true;
            }
            else if (args[i] == "--ort-spinning")
            {
                spinningArg = args[++i];
            }
            else
            {
                rest.Add(args[i]);
            }
        }
        var o = BenchOptions.Parse(rest.ToArray());
        _ortSpinning = spinningArg switch
        {
            null => _blocked,
            "on" => true,
            "off" => false,
            _ => throw new ArgumentException($"--ort-spinning is on or off, not {spinningArg}."),
        };
        var models = SuiteModels.Load(only);
        if (models.Count == 0)
        {
            Console.Error.WriteLine($"No suite model found under {SuiteModels.DataRoot}/models (set DSCONV_SHARED_DATA).");
            return 2;
        }
        var quantOptions = new QuantizationOptions { WeightBits = 4, BlockSize = 32, ActivationBits = 8 };
        Console.WriteLine($"CPU: {SuiteModels.CpuModel()}");
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {o.Threads} threads, warm-up {o.Warmup}, median of {o.Runs} interleaved runs, "
            + $"DSConv 4-bit weights / block 32 / 8-bit BFP data-free, kernel {DSConvIsaSupport.Best(4, 8)}, load average before {SuiteModels.LoadAverage()}");
        Console.WriteLine($"schedule: {(_blocked ? "each engine in its own block of runs" : "interleaved rounds")}, ONNX Runtime intra-op spinning {(_ortSpinning ? "on (its default)" : "off")}");
        Console.WriteLine();
        Console.WriteLine("| model | batch | ORT fp32 (ms) | ours fp32 (ms) | **ours fp32 / ORT** | DSConv (ms) | **DSConv speed-up vs ORT fp32** | fp32 max rel. diff |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        var fp32Ratios = new Dictionary<int, List<double>>();
        var speedups = new Dictionary<int, List<double>>();
        foreach (var entry in models)
        {
            var fp32 = new InferenceSession(entry.Model, new SessionOptions { Threads = o.Threads });
            var quantized = DSConvQuantizer.Quantize(entry.Model, quantOptions).Quantized;
            var dsconv = new InferenceSession(quantized, new SessionOptions { Threads = o.Threads });
            using var ort = new OrtReference(OnnxWriter.ToBytes(entry.Model), o.Threads, _ortSpinning);
            foreach (var batch in o.Batches)
            {
                var x = entry.Input(batch);
                if (_spinCompare is { } spins)
                {
                    var t = Interleaved(o, spins.SelectMany(sp => new Action[]
                    {
                        () => { CpuParallel.SpinMicroseconds = sp; fp32.Run(x); },
                        () => { CpuParallel.SpinMicroseconds = sp; dsconv.Run(x); },
                    }).ToArray());
                    Console.WriteLine($"| {entry.Name} | {batch} | " + string.Join(" | ", spins.Select((sp, k) => $"spin {sp} µs: fp32 {t[2 * k]:F3} DSConv {t[2 * k + 1]:F3}")) + " |");
                    continue;
                }
                if (_epilogueCompare)
                {
                    var t = Interleaved(o, () => { Sgemm.FuseEpilogue = true; fp32.Run(x); }, () => { Sgemm.FuseEpilogue = false; fp32.Run(x); },
                        () => { Sgemm.FuseEpilogue = true; dsconv.Run(x); }, () => { Sgemm.FuseEpilogue = false; dsconv.Run(x); });
                    Sgemm.FuseEpilogue = true;
                    Console.WriteLine($"| {entry.Name} | {batch} | fp32 fused {t[0]:F3} stripe {t[1]:F3} ({t[1] / t[0]:F2}x) | DSConv fused {t[2]:F3} stripe {t[3]:F3} ({t[3] / t[2]:F2}x) |");
                    continue;
                }
                if (_bufferCompare)
                {
                    var fp32Own = new InferenceSession(entry.Model, new SessionOptions { Threads = o.Threads, ReuseBuffers = false });
                    var dsconvOwn = new InferenceSession(quantized, new SessionOptions { Threads = o.Threads, ReuseBuffers = false });
                    var t = Interleaved(o, () => fp32.Run(x), () => fp32Own.Run(x), () => dsconv.Run(x), () => dsconvOwn.Run(x));
                    Console.WriteLine($"| {entry.Name} | {batch} | fp32 reused {t[0]:F3} own {t[1]:F3} ({t[1] / t[0]:F2}x) | DSConv reused {t[2]:F3} own {t[3]:F3} ({t[3] / t[2]:F2}x) |");
                    continue;
                }
                var diff = RelativeDiff(fp32.Run(x)[0], ort.Run(x)[0]);
                var times = Interleaved(o, () => ort.Run(x), () => fp32.Run(x), () => dsconv.Run(x));
                var (ortMs, oursMs, dsMs) = (times[0], times[1], times[2]);
                fp32Ratios.TryAdd(batch, []);
                speedups.TryAdd(batch, []);
                fp32Ratios[batch].Add(oursMs / ortMs);
                speedups[batch].Add(ortMs / dsMs);
                Console.WriteLine($"| {entry.Name} | {batch} | {ortMs:F3} | {oursMs:F3} | {oursMs / ortMs:F2} | {dsMs:F3} | {ortMs / dsMs:F2}x | {diff:E1} |");
            }
        }
        if (_spinCompare is not null || _bufferCompare || _epilogueCompare)
        {
            return 0;
        }
        Console.WriteLine();
        foreach (var batch in o.Batches)
        {
            Console.WriteLine($"batch {batch}: DSConv speed-up vs ORT fp32 geomean {Geomean(speedups[batch]):F2}x (worst {speedups[batch].Min():F2}x); "
                + $"ours fp32 / ORT geomean {Geomean(fp32Ratios[batch]):F2} (worst {fp32Ratios[batch].Max():F2})");
        }
        if (models.Any(m => m.Name == "resnet18") && File.Exists(SuiteModels.Int8ResNet18Path))
        {
            Int8Table(models.First(m => m.Name == "resnet18"), quantOptions, o);
        }
        Console.WriteLine();
        Console.WriteLine($"load average after: {SuiteModels.LoadAverage()}");
        return 0;
    }

    /// <summary>ResNet18: DSConv against ONNX Runtime int8 QDQ (its file fixes batch 1: batch b is b runs of batch 1).</summary>
    private static void Int8Table(SuiteModels.Entry resnet, QuantizationOptions quantOptions, BenchOptions o)
    {
        var dsconv = new InferenceSession(DSConvQuantizer.Quantize(resnet.Model, quantOptions).Quantized, new SessionOptions { Threads = o.Threads });
        using var int8 = new OrtReference(SuiteModels.Int8ResNet18Path, o.Threads, _ortSpinning);
        var int8Batch = int8.InputShape(0)[0];
        Console.WriteLine();
        Console.WriteLine("| ResNet18 batch | DSConv (ms) | ORT int8 QDQ (ms) | **DSConv / ORT int8** |");
        Console.WriteLine("| ---: | ---: | ---: | ---: |");
        foreach (var batch in o.Batches)
        {
            var x = resnet.Input(batch);
            var fixedBatch = int8Batch > 0 && int8Batch != batch;
            var x1 = fixedBatch ? resnet.Input(int8Batch) : x;
            var repeat = fixedBatch ? batch / int8Batch : 1;
            var times = Interleaved(o, () => dsconv.Run(x), () =>
            {
                for (var r = 0; r < repeat; r++)
                {
                    int8.Run(x1);
                }
            });
            Console.WriteLine($"| {batch} | {times[0]:F2} | {times[1]:F2} | {times[0] / times[1]:F2} |");
        }
    }

    /// <summary>
    /// Warm-up of each action, then rounds of one timed run of each (or, with --schedule blocked, each action's
    /// runs in one block after its own warm-up); the median per action in ms.
    /// </summary>
    public static double[] Interleaved(BenchOptions o, params Action[] actions)
    {
        if (_blocked)
        {
            return actions.Select(a =>
            {
                for (var i = 0; i < o.Warmup; i++)
                {
                    a();
                }
                var t = new double[o.Runs];
                for (var r = 0; r < o.Runs; r++)
                {
                    var start = Stopwatch.GetTimestamp();
                    a();
                    t[r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }
                return Median(t);
            }).ToArray();
        }
        foreach (var a in actions)
        {
            for (var i = 0; i < o.Warmup; i++)
            {
                a();
            }
        }
        var times = actions.Select(_ => new double[o.Runs]).ToArray();
        for (var r = 0; r < o.Runs; r++)
        {
            for (var k = 0; k < actions.Length; k++)
            {
                var start = Stopwatch.GetTimestamp();
                actions[k]();
                times[k][r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }
        return times.Select(Median).ToArray();
    }

    private static double Median(double[] t)
    {
        Array.Sort(t);
        return t.Length % 2 == 1 ? t[t.Length / 2] : (t[t.Length / 2 - 1] + t[t.Length / 2]) / 2;
    }

    private static double Geomean(List<double> v) => Math.Exp(v.Average(Math.Log));

    private static double RelativeDiff(Tensor a, Tensor b)
    {
        double maxDiff = 0, maxRef = 0;
        var x = a.Floats;
        var y = b.Floats;
        for (var i = 0; i < x.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs((double)x[i] - y[i]));
            maxRef = Math.Max(maxRef, Math.Abs((double)y[i]));
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }
}
