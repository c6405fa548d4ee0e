using System.CommandLine;
using System.Globalization;
using DSConvService.Cli.Common;
using DSConvService.Core.Datasets;
using DSConvService.Core.Format;
using DSConvService.Core.Imaging;
using DSConvService.Core.Quantization;
using DSConvService.Core.Reports;
using DSConvService.Core.Runs;
using OnnxRuntimeException = Microsoft.ML.OnnxRuntime.OnnxRuntimeException;

namespace DSConvService.Cli.Commands;

/// <summary>
/// dsconv quantize: reads the model and image sets, runs the same front door as the service
/// (<see cref="QuantizationRun"/>: quantize, artifact, evaluation as served, report), writes the
/// artifact and prints the service's report (the same JSON with --json).
/// </summary>
public static class QuantizeCommand
{
    private const int SyntheticSamples = 16;

    public static Command Create(CliConsole console)
    {
        var model = new Option<string>("--model", "-m") { Description = "fp32 ONNX model file.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the quantized artifact (.onnx).", Required = true };
        var calibration = new Option<string?>("--calibration") { Description = "Unlabelled images (folder or zip) for --adapt; also the fidelity inputs when there is no --eval." };
        var eval = new Option<string?>("--eval") { Description = "Labelled ImageFolder zip (<class>/<file>): accuracy and fidelity." };
        var fidelity = new Option<string?>("--fidelity") { Description = "Unlabelled images (folder or zip) to measure fidelity on instead of the calibration images." };
        var labels = new Option<string?>("--labels") { Description = "Text file, one class name per line in model output order (stored in the artifact)." };
        var adapt = new Option<bool>("--adapt") { Description = "Re-fit KDS and correct biases on the --calibration images (DESIGN 2.4)." };
        var threads = new Option<int>("--threads") { Description = "Threads of both engines during evaluation.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var maxEval = new Option<int>("--max-eval") { Description = "Most evaluation / fidelity images read.", DefaultValueFactory = _ => 2000 };
        var maxCalibration = new Option<int>("--max-calibration") { Description = "Most calibration images read.", DefaultValueFactory = _ => 256 };
        var latencyRuns = new Option<int>("--latency-runs") { Description = "Timed runs per engine for latency (0 = do not measure).", DefaultValueFactory = _ => 10 };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON (the service's report shape)." };
        var html = new Option<string?>("--html") { Description = "Also write the report as a standalone HTML page (the service's report.html: charts inline, opens offline)." };
        var task = new Option<string>("--task") { Description = "auto (from the output shape) | classify | features (the model outputs a feature vector: no class metrics).", DefaultValueFactory = _ => "auto" };
        task.AcceptOnlyFromAmong("auto", ModelTask.Classify, ModelTask.Features);
        var quantization = new QuantizationArguments();
        var preprocessing = new PreprocessingArguments();
        var command = new Command("quantize", "Quantize a model with DSConv, write the artifact and report accuracy, fidelity and latency.")
        {
            model, output, calibration, eval, fidelity, labels, adapt,
            threads, maxEval, maxCalibration, latencyRuns, json, html, task,
        };
        quantization.AddTo(command);
        preprocessing.AddTo(command);
        command.SetAction(parse => console.Guard(() =>
        {
            var options = quantization.Resolve(parse, parse.GetValue(adapt));
            var request = new Request(parse.GetValue(model)!, parse.GetValue(output)!, options,
                parse.GetValue(calibration), parse.GetValue(eval), parse.GetValue(fidelity), parse.GetValue(labels),
                parse.GetValue(threads), parse.GetValue(maxEval), parse.GetValue(maxCalibration), parse.GetValue(latencyRuns));
            Check(request);
            // Read as the worker reads an upload: the weights stay in the file, and the run reads them layer by layer.
            var (fp32, artifact) = ModelFile.LoadStructure(request.Model);
            if (artifact is not null)
            {
                throw new CliException($"'{request.Model}' is already a DSConv artifact; quantize the original fp32 model.");
            }
            var pre = preprocessing.Resolve(parse, fp32);
            var modelTask = parse.GetValue(task) is ModelTask.Classify or ModelTask.Features ? parse.GetValue(task)! : ModelTask.Detect(fp32);
            var report = ModelTask.Apply(Run(request, pre), modelTask);
            if (parse.GetValue(html) is { } htmlPath)
            {
                HtmlReportFile.Write(htmlPath, report, request, pre);
            }
            if (parse.GetValue(json))
            {
                console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(report, ReportSerialization.Indented));
            }
            else
            {
                Print(console.Out, report, request);
            }
            return CliConsole.Ok;
        }));
        return command;
    }

    public sealed record Request(string Model, string Output, QuantizationOptions Options, string? Calibration, string? Eval,
        string? Fidelity, string? Labels, int Threads, int MaxEval, int MaxCalibration, int LatencyRuns);

    /// <summary>Bad option values and combinations, named by their command-line spelling.</summary>
    private static void Check(Request r)
    {
        var o = r.Options;
        if (r.Threads < 1)
        {
            throw new CliException($"--threads must be at least 1 (got {r.Threads}).");
        }
        if (r.MaxEval < 1 || r.MaxCalibration < 1)
        {
            throw new CliException("--max-eval and --max-calibration must be at least 1.");
        }
        if (r.LatencyRuns < 0)
        {
            throw new CliException($"--latency-runs must be 0 or more (got {r.LatencyRuns}).");
        }
        if (o.Adapt && r.Calibration is null)
        {
            throw new CliException("--adapt needs --calibration images (a folder or zip of unlabelled images).");
        }
        if (r.Eval is not null && r.Fidelity is not null)
        {
            throw new CliException("--eval and --fidelity cannot be combined: with --eval, fidelity is measured on the evaluation images.");
        }
        if (r.Labels is not null && !File.Exists(r.Labels))
        {
            throw new CliException($"--labels '{r.Labels}' does not exist.");
        }
    }

    /// <summary>Reads the inputs, runs Core's front door (<see cref="QuantizationRun"/>) and writes the artifact.</summary>
    public static QuantizationReport Run(Request r, PreprocessingOptions preprocessing)
    {
        var labels = r.Labels is null ? null : LabelsFile.Read(r.Labels);
        var calibration = r.Calibration is null ? null : ImageSets.Unlabelled(r.Calibration, "--calibration", preprocessing, r.MaxCalibration);
        LabelledInputs? evaluation = null;
        if (r.Eval is not null)
        {
            var (inputs, classes) = ImageSets.Labelled(r.Eval, "--eval", labels, preprocessing, r.MaxEval);
            evaluation = new LabelledInputs(inputs, classes);
        }
        var fidelity = r.Fidelity is null ? null : ImageSets.Unlabelled(r.Fidelity, "--fidelity", preprocessing, r.MaxEval);
        // Written beside the output and renamed when the run succeeded, so a failed run leaves no artifact.
        var output = Path.GetFullPath(r.Output);
        var temp = output + ".tmp";
        RunOutcome outcome;
        try
        {
            outcome = QuantizationRun.Execute(new RunRequest
            {
                Fp32ModelPath = r.Model,
                ArtifactPath = temp,
                Options = r.Options,
                Preprocessing = preprocessing,
                Labels = labels,
                Calibration = calibration,
                Evaluation = evaluation,
                Fidelity = fidelity,
                Settings = new RunSettings { Threads = r.Threads, LatencyRuns = r.LatencyRuns, SyntheticSamples = SyntheticSamples },
            });
        }
        catch (Exception e)
        {
            File.Delete(temp);
            if (e is OnnxRuntimeException)
            {
                throw new CliException($"ONNX Runtime cannot run '{r.Model}' as the fp32 reference: {e.Message}");
            }
            throw;
        }
        File.Move(outcome.ArtifactPath, output, overwrite: true);
        return outcome.Report;
    }

    private static void Print(TextWriter o, QuantizationReport r, Request request)
    {
        var c = CultureInfo.InvariantCulture;
        var m = r.Model;
        var opts = request.Options;
        o.WriteLine(string.Create(c, $"quantized  {request.Model} → {request.Output}"));
        o.WriteLine(string.Create(c, $"settings   {opts.WeightBits}-bit weights, block {opts.BlockSize}, activations {(opts.ActivationBits == 0 ? "float" : $"BFP {opts.ActivationBits}-bit")}, KDS {opts.Kds.ToString().ToLowerInvariant()}{(opts.KdsBias ? " + bias" : "")}, scale {opts.Scale.Name()}{(opts.BiasCorrection ? $", bias correction ({r.Quantization?.BiasCorrectedLayers ?? 0} layers)" : "")}{(opts.Layers.Count > 0 ? $", {opts.Layers.Count} layer(s) with their own settings" : "")}{(opts.Cds ? ", CDS" : "")}{(opts.Adapt ? ", adapted" : "")}"));
        o.WriteLine(string.Create(c, $"model      {m.Parameters:N0} parameters, {m.QuantizedLayers} layers quantized, {m.SkippedLayers.Count} skipped"));
        o.WriteLine(string.Create(c, $"size       {m.Fp32Bytes:N0} → {m.QuantizedBytes:N0} bytes ({m.CompressionRatio:F2}x), {m.BitsPerWeight:F3} bits per weight"));
        if (r.Accuracy is { } a)
        {
            o.WriteLine(string.Create(c, $"accuracy   top-1 fp32 {a.Fp32Top1 * 100:F2} %, quantized {a.QuantizedTop1 * 100:F2} % (drop {a.Top1Drop * 100:F2} points); top-5 {a.Fp32Top5 * 100:F2} % / {a.QuantizedTop5 * 100:F2} %; {a.Samples} images"));
        }
        if (r.Policy is { } p)
        {
            o.WriteLine(string.Create(c, $"policy     target {(p.Target.Cosine is { } tc ? $"cosine ≥ {tc}" : "")}{(p.Target.Cosine is not null && p.Target.MinCompression is not null ? ", " : "")}{(p.Target.MinCompression is { } tm ? $"≥ {tm}x" : "")}: predicted cosine {p.PredictedCosine:F5}, measured {p.MeasuredCosine:F5} on {p.SelectionInputs} inputs, {p.CompressionRatio:F2}x, {(p.Met ? "met" : "NOT met")}"));
        }
        if (r.Fidelity is { } f)
        {
            var classMetrics = f.Top1Agreement is { } agreement ? string.Create(c, $", top-1 agreement {agreement * 100:F2} %, mean KL {f.MeanKl:E3}") : " (feature model: no class metrics)";
            o.WriteLine(string.Create(c, $"fidelity   {f.Samples} {r.FidelityInputs} inputs: cosine {f.Cosine:F5} (worst {f.CosineMin:F5}), output SQNR {f.OutputSqnrDb:F2} dB{classMetrics}"));
        }
        if (r.Latency is { } l)
        {
            o.WriteLine(string.Create(c, $"latency    ONNX Runtime fp32 {l.Fp32OrtMs:F3} ms, DSConv {l.DsconvMs:F3} ms (speedup {l.Speedup:F2}x); {l.Threads} threads, batch {l.Batch}"));
        }
        o.WriteLine(string.Create(c, $"timings    quantize {r.Timings.QuantizeSeconds:F3} s, evaluate {r.Timings.EvaluateSeconds:F3} s"));
        o.WriteLine("layers");
        var width = Math.Max(4, r.Layers.Select(x => x.Name.Length).DefaultIfEmpty(0).Max());
        o.WriteLine(string.Create(c, $"  {"name".PadRight(width)}  {"op",-6} bits block  act stored  weight dB  output dB          MACs"));
        foreach (var x in r.Layers)
        {
            var output = x.OutputSqnrDb is { } s ? s.ToString("F2", c) : "-";
            var stored = x.StorageBitsPerWeight + (x.WastesStorage ? "!" : " ");
            o.WriteLine(string.Create(c, $"  {x.Name.PadRight(width)}  {x.Op,-6} {x.WeightBits,4} {x.BlockSize,5} {x.ActivationBits,4} {stored,6} {x.WeightSqnrDb,10:F2} {output,10} {x.Macs,13:N0}"));
        }
        if (r.Layers.Any(x => x.WastesStorage))
        {
            o.WriteLine("  (! = stored wider than its bits: no size gain over the stored width)");
        }
        foreach (var s in m.SkippedLayers)
        {
            o.WriteLine($"skipped    {s}");
        }
        foreach (var n in r.Notes)
        {
            o.WriteLine($"note       {n}");
        }
    }
}
