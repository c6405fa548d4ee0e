using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using DSConvService.Cli.Common;
using DSConvService.Core.Evaluation;
using DSConvService.Core.Execution;
using DSConvService.Core.Onnx;
using DSConvService.Core.Tensors;
using OnnxRuntimeException = Microsoft.ML.OnnxRuntime.OnnxRuntimeException;

namespace DSConvService.Cli.Commands;

/// <summary>
/// dsconv compare: the same inputs through this engine and through ONNX Runtime; prints the largest
/// output difference (absolute and relative to the largest |ORT output|) and each one's median latency.
/// With a DSConv artifact and <c>--reference</c> (its fp32 original), this engine runs the artifact on
/// the integer kernels and ONNX Runtime runs the reference; the result adds dsconvMs and speedup.
/// </summary>
public static class CompareCommand
{
    public sealed record Result(double MaxAbsDiff, double RelativeDiff, double OursMs, double OrtMs, int Threads, int Batch)
    {
        /// <summary>With --reference: our integer engine on the artifact, ms (median).</summary>
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public double? DsconvMs { get; init; }

        /// <summary>With --reference: ortMs / dsconvMs.</summary>
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public double? Speedup { get; init; }
    }

    public static Command Create(CliConsole console)
    {
        var model = new Option<string>("--model", "-m") { Description = "ONNX model file.", Required = true };
        var images = new Option<string[]>("--image", "-i") { Description = "Image files; without them, seeded random inputs of the model's shape.", AllowMultipleArgumentsPerToken = true };
        var batch = new Option<int?>("--batch") { Description = "Batch size (default: the number of images, else 1)." };
        var threads = new Option<int>("--threads") { Description = "Threads for both engines.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var runs = new Option<int>("--runs") { Description = "Timed runs of each engine (after one warm-up).", DefaultValueFactory = _ => 10 };
        var seed = new Option<int>("--seed") { Description = "Seed of the random inputs.", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var reference = new Option<string?>("--reference") { Description = "With a DSConv artifact as --model: its original fp32 model, run by ONNX Runtime (adds dsconvMs and speedup)." };
        var preprocessing = new PreprocessingArguments();
        var command = new Command("compare", "Compare this engine with ONNX Runtime: output difference and latency.")
        {
            model, images, batch, threads, runs, seed, json, reference,
        };
        preprocessing.AddTo(command);
        command.SetAction(parse => console.Guard(() =>
        {
            var file = ModelFile.Load(parse.GetValue(model)!);
            var threadCount = Math.Max(1, parse.GetValue(threads));
            var options = preprocessing.Resolve(parse, file.Model);
            var paths = parse.GetValue(images) ?? [];
            var inputs = paths.Length > 0
                ? ModelInputs.FromImages(file.Model, paths, parse.GetValue(batch), options)
                : ModelInputs.Random(file.Model, parse.GetValue(batch) ?? 1, parse.GetValue(seed), options);
            var referenceFile = parse.GetValue(reference) is { } path ? Reference(file, path) : null;
            var result = Compare(file, inputs, threadCount, Math.Max(1, parse.GetValue(runs)), referenceFile);
            if (parse.GetValue(json))
            {
                console.WriteJson(result);
            }
            else
            {
                var c = CultureInfo.InvariantCulture;
                console.Out.WriteLine(string.Create(c, $"maxAbsDiff   {result.MaxAbsDiff:E3}"));
                console.Out.WriteLine(string.Create(c, $"relativeDiff {result.RelativeDiff:E3}"));
                console.Out.WriteLine(string.Create(c, $"ours         {result.OursMs:F3} ms (median)"));
                console.Out.WriteLine(string.Create(c, $"ONNX Runtime {result.OrtMs:F3} ms (median)"));
                if (result.Speedup is { } speedup)
                {
                    console.Out.WriteLine(string.Create(c, $"speedup      {speedup:F2}x (DSConv integer engine on the artifact vs ONNX Runtime fp32 on the reference)"));
                }
                console.Out.WriteLine(string.Create(c, $"threads {result.Threads}, batch {result.Batch}"));
            }
            return CliConsole.Ok;
        }));
        return command;
    }

    /// <summary>The fp32 model an artifact was quantized from; refused when --model is not an artifact or the reference is one.</summary>
    private static ModelFile Reference(ModelFile artifact, string path)
    {
        if (artifact.Artifact is null)
        {
            throw new CliException($"--reference is for DSConv artifacts, but '{artifact.Path}' is not one; compare the fp32 model directly.");
        }
        var reference = ModelFile.Load(path);
        if (reference.Artifact is not null)
        {
            throw new CliException($"--reference '{path}' is itself a DSConv artifact; give the original fp32 model.");
        }
        return reference;
    }

    /// <summary>Our engine on <paramref name="file"/>; ONNX Runtime on <paramref name="reference"/> when given, else on the same file.</summary>
    public static Result Compare(ModelFile file, Tensor[] inputs, int threads, int runs, ModelFile? reference = null)
    {
        var ours = new InferenceSession(file.Model, new SessionOptions { Threads = threads });
        var ortFile = reference ?? file;
        OrtReference ort;
        try
        {
            ort = new OrtReference(ortFile.Bytes, threads);
        }
        catch (OnnxRuntimeException e)
        {
            throw new CliException($"ONNX Runtime cannot load '{ortFile.Path}': {e.Message}");
        }
        using (ort)
        {
            var expected = ort.Run(inputs);
            var actual = ours.Run(inputs);
            double maxAbs = 0, maxRef = 0;
            for (var i = 0; i < expected.Length; i++)
            {
                var k = ours.Outputs.Select(o => o.Name).ToList().IndexOf(ort.OutputNames[i]);
                var a = actual[k >= 0 ? k : i].ToFloats();
                var b = expected[i].ToFloats();
                if (a.Length != b.Length)
                {
                    throw new CliException($"output '{ort.OutputNames[i]}' has {a.Length} values here but {b.Length} in ONNX Runtime.");
                }
                for (var j = 0; j < a.Length; j++)
                {
                    maxAbs = Math.Max(maxAbs, Math.Abs((double)a[j] - b[j]));
                    maxRef = Math.Max(maxRef, Math.Abs((double)b[j]));
                }
            }
            var oursMs = LatencyTimer.MedianMs(() => ours.Run(inputs), runs);
            var ortMs = LatencyTimer.MedianMs(() => ort.Run(inputs), runs);
            var result = new Result(maxAbs, maxRef == 0 ? maxAbs : maxAbs / maxRef, oursMs, ortMs, threads, inputs[0].Shape.Length > 0 ? inputs[0].Shape[0] : 1);
            return reference is null ? result : result with { DsconvMs = oursMs, Speedup = oursMs > 0 ? ortMs / oursMs : 0 };
        }
    }
}
