using System.CommandLine;
using System.Globalization;
using DSConvService.Cli.Common;
using DSConvService.Core.Execution;
using DSConvService.Core.Tensors;

namespace DSConvService.Cli.Commands;

/// <summary>dsconv run: one image through the model on this engine; prints top-k or an output summary.</summary>
public static class RunCommand
{
    public sealed record Result(string Model, string Image, string Output, int[] Shape, double LatencyMs, Prediction[]? TopK, VectorSummary? Summary);

    public static Command Create(CliConsole console)
    {
        var model = new Option<string>("--model", "-m") { Description = "ONNX model file.", Required = true };
        var image = new Option<string>("--image", "-i") { Description = "Image file (PNG or JPEG).", Required = true };
        var topk = new Option<int>("--topk") { Description = "How many classes to print.", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads") { Description = "Threads for the engine.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var preprocessing = new PreprocessingArguments();
        var command = new Command("run", "Run a model on one image with the DSConvService engine.") { model, image, topk, threads, json };
        preprocessing.AddTo(command);
        command.SetAction(parse => console.Guard(() =>
        {
            var file = ModelFile.Load(parse.GetValue(model)!);
            var options = preprocessing.Resolve(parse, file.Model);
            var input = ModelInputs.FromImages(file.Model, [parse.GetValue(image)!], 1, options);
            var session = new InferenceSession(file.Model, new SessionOptions { Threads = Math.Max(1, parse.GetValue(threads)) });
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var output = session.Run(input)[0];
            var ms = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var result = new Result(file.Path, parse.GetValue(image)!, session.Outputs[0].Name, output.Shape, ms,
                OutputSummary.LooksLikeClassScores(output) ? OutputSummary.TopK(output, parse.GetValue(topk), file.Artifact?.Labels) : null,
                OutputSummary.LooksLikeClassScores(output) ? null : OutputSummary.Summarize(output));
            if (parse.GetValue(json))
            {
                console.WriteJson(result);
            }
            else
            {
                Print(console.Out, result);
            }
            return CliConsole.Ok;
        }));
        return command;
    }

    private static void Print(TextWriter o, Result r)
    {
        var c = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(c, $"{r.Output} {ShapeUtil.Format(r.Shape)} in {r.LatencyMs:F2} ms (first run, includes planning)"));
        if (r.TopK is { } top)
        {
            foreach (var p in top)
            {
                o.WriteLine(string.Create(c, $"  class {p.Index,5}  score {p.Score,12:G6}  p {p.Probability:F4}  {p.Label}"));
            }
        }
        else if (r.Summary is { } s)
        {
            o.WriteLine(string.Create(c, $"  min {s.Min:G6}  max {s.Max:G6}  mean {s.Mean:G6}  L2 {s.L2Norm:G6}"));
            o.WriteLine(string.Create(c, $"  first values: {string.Join(", ", s.First.Select(v => v.ToString("G6", c)))}"));
        }
    }
}
