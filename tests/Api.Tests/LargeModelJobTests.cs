using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using DSConvService.TestSupport;
using Microsoft.AspNetCore.Mvc.Testing;
using Xunit;
using Xunit.Abstractions;

namespace DSConvService.Api.Tests;

/// <summary>
/// Issue 9: the worker quantizes a model of 243 MiB of Conv weights (28 layers of 8.4 MiB) without holding
/// the fp32 model. The weights are read layer by layer from the upload, and ONNX Runtime maps them from an
/// external-data copy, so the process's anonymous memory (sampled from /proc/self/status while the job runs)
/// grows by far less than the old whole-file path needed (2.3 GiB measured for this model: the bytes, the
/// eager model, ONNX Runtime's copy and its NCHWc copy).
/// </summary>
[Collection(AllocationMeasurements.Name)]
public sealed class LargeModelJobTests(ITestOutputHelper output) : IDisposable
{
    private const int Layers = 28, Channels = 512, Size = 8;

    // The target and adapt jobs run the float model some thirty times: on 4x4 maps (the same weights) they take a quarter of the compute.
    private const int SmallMaps = 4;

    // Measured +201..203 MiB run alone (0.83x; +315 before the artifact went to a file and the served model read its codes
    // from it, the stage collections ran the finalizers and the per-layer SQNR stopped copying every layer's output): the
    // peak is one engine session (its codes, one sbyte per weight, which the integer kernels keep, and its packed kernels,
    // ~145 MiB live for this model) plus what the GC keeps committed of the earlier stages. RssAnon is the whole test
    // process's, and other test classes allocate beside it in a full run (+193..207 MiB measured there, but +91 MiB over the
    // run alone was once seen in CI), and a CPU with AVX-512 packs a second copy of the kernels for these small maps
    // (ChannelVectorPath, about 0.3x); the bound leaves room for both. A copy of the fp32 weights on top of the session
    // (1.0x) fails it, and the whole-file path (+2.3 GiB, 9x the weights) far more.
    private const double AllowedGrowthPerWeightByte = 1.5;

    // A target job (sensitivities: the float model once per layer; up to four quantizations) and an adapt job (the fp32 model
    // and the float simulation once per layer) run every float pass streamed, one layer's weights and packed kernels at a
    // time: measured +186..206 MiB (0.77..0.85x) and +187..201 MiB (0.77..0.83x) with few other classes, +225 MiB (0.92x)
    // and +197 MiB (0.81x) in a whole Api.Tests run, against +4605 MiB (18.9x) and +4398 MiB (18.1x) with whole-model
    // sessions before. Their peak is now the evaluation's, as for the plain job (+204..249 MiB). Below the weights, as
    // issue 9 asks: a copy of the fp32 weights (1.0x) on top of that fails it.
    private const double AllowedTargetGrowthPerWeightByte = 1.0, AllowedAdaptGrowthPerWeightByte = 1.0;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public async Task A_job_on_a_model_with_243_MiB_of_weights_runs_without_holding_the_fp32_model()
    {
        var (job, _, _) = await MeasureAsync("plain", null, null, Size, AllowedGrowthPerWeightByte);
        Assert.Contains(job.Report!.Notes, n => n.Contains("without graph optimizations"));
    }

    /// <summary>
    /// A precision target runs the float model once per layer (its sensitivity) and quantizes the model up to four times:
    /// streamed, one layer's weights at a time, and with only the best trial's codes kept, it stays below the weights.
    /// </summary>
    [SkippableFact]
    public async Task A_target_job_on_the_large_model_holds_less_than_its_weights()
    {
        var (job, _, _) = await MeasureAsync("target", """{"target":{"cosine":0.99,"minCompression":6.5}}""", null, SmallMaps, AllowedTargetGrowthPerWeightByte);
        var policy = job.Report!.Policy!;
        Assert.Equal(Layers, policy.Layers.Count);
        Assert.All(policy.Layers, l => Assert.True(l.Sensitivity >= 0));
    }

    /// <summary>Adaptation runs the fp32 model and the float simulation of the quantized one per layer: streamed too.</summary>
    [SkippableFact]
    public async Task An_adapt_job_on_the_large_model_holds_less_than_its_weights()
    {
        var calibration = TestInputs.Zip(Enumerable.Range(0, 4).Select(i => ($"{i}.png", TestInputs.Png(SmallMaps, SmallMaps, 40 + i))).ToArray());
        var (job, _, _) = await MeasureAsync("adapt", """{"adapt":true}""", calibration, SmallMaps, AllowedAdaptGrowthPerWeightByte);
        Assert.Contains(job.Report!.Notes, n => n.Contains("calibration inputs", StringComparison.Ordinal));
        Assert.Equal("calibration", job.Report.FidelityInputs);
    }

    private async Task<(JobResponse Job, long Growth, long WeightBytes)> MeasureAsync(string kind, string? options, byte[]? calibration, int size, double allowed)
    {
        Skip.IfNot(File.Exists("/proc/self/status"), "needs Linux /proc to read the process's anonymous memory");
        var warmup = _dir.File("warmup.onnx");
        ConvStackModelFile.Write(warmup, 2, 64, size);
        var path = _dir.File("large.onnx");
        var weightBytes = ConvStackModelFile.Write(path, Layers, Channels, size);
        var dataDirectory = Path.Combine(_dir.Path, "data");
        await using var app = new ServiceApp(dataDirectory, new() { ["Jobs:Threads"] = "2" });
        // Without redirects the factory adds no handler that copies request bodies into memory.
        var client = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        Assert.Equal("succeeded", (await RunAsync(client, warmup, options, calibration)).Status);

        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var baseline = RssAnonKb();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        using var sampler = new PeakSampler(RssAnonKb);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var job = await RunAsync(client, path, options, calibration);
        clock.Stop();
        var peakKb = sampler.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var growth = (peakKb - baseline) * 1024L;
        output.WriteLine(FormattableString.Invariant(
            $"{kind} job: weights {weightBytes / 1048576.0:F0} MiB; job {clock.Elapsed.TotalSeconds:F1} s; RssAnon {baseline / 1024.0:F0} MiB before, peak {peakKb / 1024.0:F0} MiB (+{growth / 1048576.0:F0} MiB, {(double)growth / weightBytes:F2}x the weights); {allocated / 1048576.0:F0} MiB allocated"));

        Assert.True(job.Status == "succeeded", job.Error);
        var report = job.Report!;
        Assert.Equal(Layers, report.Model.QuantizedLayers);
        Assert.Equal(Layers, report.Layers.Count(l => l.OutputSqnrDb is not null));
        Assert.True(growth < allowed * weightBytes,
            FormattableString.Invariant($"anonymous memory grew by {growth:N0} bytes for {weightBytes:N0} bytes of weights ({(double)growth / weightBytes:F2}x, allowed {allowed}x)"));
        // The ONNX Runtime copy of the model (about its size) is gone with the job.
        var spool = Path.Combine(dataDirectory, "tmp", "spool");
        Assert.Empty(Directory.Exists(spool) ? Directory.EnumerateFiles(spool, "*reference*", SearchOption.AllDirectories) : []);
        return (job, growth, weightBytes);
    }

    private static async Task<JobResponse> RunAsync(HttpClient client, string model, string? options, byte[]? calibration)
    {
        await using var file = File.OpenRead(model);
        var content = new StreamContent(file, 1 << 16);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var form = new MultipartFormDataContent { { content, "model", "model.onnx" } };
        if (calibration is not null)
        {
            form.Add(TestInputs.File(calibration), "calibration", "calibration.zip");
        }
        if (options is not null)
        {
            form.Add(new StringContent(options), "options");
        }
        using var post = await client.PostAsync("/quantize", form);
        Assert.True(post.StatusCode == HttpStatusCode.Accepted, await post.Content.ReadAsStringAsync());
        var job = (await post.Content.ReadFromJsonAsync<JobResponse>(ServiceApp.Json))!;
        return await ServiceApp.WaitAsync(client, job.Id, TimeSpan.FromSeconds(600));
    }

    private static long RssAnonKb() =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("RssAnon:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The largest value of a reading taken every few milliseconds on a thread of its own.</summary>
    private sealed class PeakSampler : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;
        private long _peak;

        public PeakSampler(Func<long> read)
        {
            _peak = read();
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    _peak = Math.Max(_peak, read());
                    Thread.Sleep(5);
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public long Stop()
        {
            _stop = true;
            _thread.Join();
            return _peak;
        }

        public void Dispose() => Stop();
    }
}
