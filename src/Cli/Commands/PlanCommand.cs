using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using DSConvService.Cli.Common;
using DSConvService.Core.Datasets;
using DSConvService.Core.Planning;
using DSConvService.Core.Reports;

namespace DSConvService.Cli.Commands;

/// <summary>
/// dsconv plan: what `dsconv quantize` with the same options would do, without running a job — per
/// layer shapes, MACs, settings, kernel path and bytes, the totals and the unsupported operators
/// (Core's <see cref="Planner"/>, the same answer as POST /plan; the same JSON with --json).
/// </summary>
public static class PlanCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Option<string>("--model", "-m") { Description = "fp32 ONNX model file.", Required = true };
        var labels = new Option<string?>("--labels") { Description = "Text file, one class name per line (stored in the artifact, so counted in its size)." };
        var threads = new Option<int>("--threads") { Description = "Threads for the policy's runs (with a target).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var json = new Option<bool>("--json") { Description = "Print the plan as JSON (the shape of POST /plan)." };
        var quantization = new QuantizationArguments();
        var preprocessing = new PreprocessingArguments();
        var command = new Command("plan", "Show what quantizing a model would do (layers, kernel paths, estimated size) without running a job.")
        {
            model, labels, threads, json,
        };
        quantization.AddTo(command);
        preprocessing.AddTo(command);
        command.SetAction(parse => console.Guard(() =>
        {
            var options = quantization.Resolve(parse, adapt: false);
            if (parse.GetValue(threads) < 1)
            {
                throw new CliException($"--threads must be at least 1 (got {parse.GetValue(threads)}).");
            }
            if (parse.GetValue(labels) is { } l && !File.Exists(l))
            {
                throw new CliException($"--labels '{l}' does not exist.");
            }
            var file = ModelFile.Load(parse.GetValue(model)!);
            if (file.Artifact is not null)
            {
                throw new CliException($"'{file.Path}' is already a DSConv artifact; plan the original fp32 model.");
            }
            var pre = preprocessing.Resolve(parse, file.Model);
            var classNames = parse.GetValue(labels) is { } path ? LabelsFile.Read(path).ToArray() : null;
            var plan = Planner.Plan(file.Bytes, options, pre, classNames, parse.GetValue(threads));
            if (parse.GetValue(json))
            {
                console.Out.WriteLine(JsonSerializer.Serialize(plan, ReportSerialization.Indented));
            }
            else
            {
                Print(console.Out, plan, file);
            }
            return CliConsole.Ok;
        }));
        return command;
    }

    private static void Print(TextWriter o, ModelPlan plan, ModelFile file)
    {
        var c = CultureInfo.InvariantCulture;
        var t = plan.Totals;
        o.WriteLine(string.Create(c, $"plan       {file.Path}: {plan.Layers.Count} layers, {file.Bytes.LongLength:N0} → {t.EstimatedBytes:N0} bytes estimated ({t.CompressionRatio:F2}x), {t.BitsPerWeight:F3} bits per weight"));
        o.WriteLine(plan.UnsupportedOperators.Count == 0
            ? "operators  all supported by this engine"
            : $"operators  not supported by this engine (ONNX Runtime would run the model): {string.Join(", ", plan.UnsupportedOperators)}");
        var width = Math.Max(4, plan.Layers.Select(x => x.Name.Length).DefaultIfEmpty(0).Max());
        o.WriteLine(string.Create(c, $"  {"name".PadRight(width)}  {"op",-6} {"output",-16} bits block storage         MACs        bytes  path"));
        foreach (var x in plan.Layers)
        {
            var shape = x.OutputShape is { } s ? "[" + string.Join(",", s) + "]" : "-";
            var bits = x.Settings?.WeightBits.ToString(c) ?? "-";
            var block = x.Settings?.BlockSize.ToString(c) ?? "-";
            o.WriteLine(string.Create(c, $"  {x.Name.PadRight(width)}  {x.Op,-6} {shape,-16} {bits,4} {block,5} {x.Storage ?? "fp32",-7} {x.Macs,13:N0} {x.EstimatedBytes,12:N0}  {x.KernelPath.Path}: {x.KernelPath.Reason}"));
        }
    }
}
