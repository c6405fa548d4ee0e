using DSConvService.Core.Imaging;
using DSConvService.Core.Runs;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Runs;

/// <summary>The run's scratch files (ONNX Runtime's external-data copy of the model) are gone after it, however it ends.</summary>
public sealed class QuantizationRunScratchTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_finished_run_leaves_no_scratch_file()
    {
        var scratch = Directory.CreateDirectory(_dir.File("scratch")).FullName;
        var outcome = QuantizationRun.Execute(Request(Model(), scratch, null));

        Assert.True(outcome.ArtifactBytes > 0);
        Assert.Equal(outcome.ArtifactBytes, new FileInfo(outcome.ArtifactPath).Length);
        Assert.Empty(Directory.EnumerateFiles(scratch));
    }

    [Fact]
    public void A_run_cancelled_while_it_evaluates_leaves_no_scratch_file()
    {
        var scratch = Directory.CreateDirectory(_dir.File("scratch")).FullName;
        using var cancel = new CancellationTokenSource();
        var sawCopy = false;
        var request = Request(Model(), scratch, new Relay(p =>
        {
            // Cancelled once the copy exists, in the middle of the evaluation.
            if (p.Stage == "evaluating" && p.Fraction > 0.5 && !cancel.IsCancellationRequested)
            {
                sawCopy = Directory.EnumerateFiles(scratch).Any();
                cancel.Cancel();
            }
        }));

        Assert.ThrowsAny<OperationCanceledException>(() => QuantizationRun.Execute(request, cancel.Token));
        Assert.True(sawCopy, "the evaluation had no external-data copy to clean up");
        Assert.Empty(Directory.EnumerateFiles(scratch));
    }

    private string Model()
    {
        var path = _dir.File("stack.onnx");
        ConvStackModelFile.Write(path, 3, 64, 6);
        return path;
    }

    private RunRequest Request(string model, string scratch, IProgress<RunProgress>? progress) => new()
    {
        Fp32ModelPath = model,
        ArtifactPath = _dir.File("artifact.onnx"),
        ScratchPrefix = Path.Combine(scratch, "run"),
        Preprocessing = new PreprocessingOptions { Width = 6, Height = 6 },
        Settings = new RunSettings { Threads = 1, LatencyRuns = 1, SyntheticSamples = 4 },
        Progress = progress,
    };

    private sealed class Relay(Action<RunProgress> report) : IProgress<RunProgress>
    {
        public void Report(RunProgress value) => report(value);
    }
}
