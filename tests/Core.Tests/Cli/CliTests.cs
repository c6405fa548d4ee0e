using System.Text.Json;
using DSConvService.Cli;
using DSConvService.Core.Evaluation;
using DSConvService.Core.Imaging;
using DSConvService.Core.Onnx;
using DSConvService.Core.Tests.Imaging;
using DSConvService.TestSupport;
using SkiaSharp;
using Xunit;
using static DSConvService.Core.Tests.Passes.PassTestModels;

namespace DSConvService.Core.Tests.Cli;

public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dsconv-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>conv-relu, 1x1 conv head, global pool: a classifier over 3x16x16 images, 7 classes, dynamic batch.</summary>
    private string ClassifierFile()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", -1, 3, 16, 16);
        var conv = b.Node("Relu", [Conv(b, x, 3, 8, 1)]);
        var head = b.Node("Conv", [conv, Weights(b, 3, 7, 8, 1, 1), Weights(b, 4, 7)]);
        b.Output(b.Node("Flatten", [b.Node("GlobalAveragePool", [head])]));
        var path = Path.Combine(_dir, "classifier.onnx");
        File.WriteAllBytes(path, b.ToBytes());
        return path;
    }

    private string ImageFile(string name, SKColor color)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, TestImages.Encode(20, 16, (x, y) => new SKColor((byte)(color.Red ^ x * 9), (byte)(color.Green ^ y * 13), color.Blue)));
        return path;
    }

    private static (int Code, string Out, string Err) Invoke(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void Compare_With_Random_Inputs_Prints_The_Json_Fields()
    {
        var (code, stdout, stderr) = Invoke("compare", "--model", ClassifierFile(), "--batch", "3", "--threads", "1", "--runs", "2", "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var r = doc.RootElement;
        foreach (var field in new[] { "maxAbsDiff", "relativeDiff", "oursMs", "ortMs", "threads", "batch" })
        {
            Assert.True(r.TryGetProperty(field, out _), $"missing {field} in {stdout}");
        }
        Assert.InRange(r.GetProperty("relativeDiff").GetDouble(), 0, 1e-5);
        Assert.True(r.GetProperty("oursMs").GetDouble() > 0);
        Assert.Equal(3, r.GetProperty("batch").GetInt32());
        Assert.Equal(1, r.GetProperty("threads").GetInt32());
    }

    [Fact]
    public void Compare_With_Images_Uses_Them_As_The_Batch()
    {
        var a = ImageFile("a.png", new SKColor(200, 30, 60));
        var c = ImageFile("c.png", new SKColor(20, 130, 250));
        var (code, stdout, stderr) = Invoke("compare", "-m", ClassifierFile(), "--image", a, c, "--size", "16", "--runs", "1", "--json");
        Assert.True(code == 0, stderr);
        var r = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(2, r.GetProperty("batch").GetInt32());
        Assert.InRange(r.GetProperty("relativeDiff").GetDouble(), 0, 1e-5);
    }

    [Fact]
    public void Run_Prints_The_Top_Classes_Ort_Finds()
    {
        var model = ClassifierFile();
        var image = ImageFile("x.png", new SKColor(90, 180, 10));
        var (code, stdout, stderr) = Invoke("run", "--model", model, "--image", image, "--topk", "3", "--json");
        Assert.True(code == 0, stderr);
        var top = JsonDocument.Parse(stdout).RootElement.GetProperty("topK").EnumerateArray().ToArray();
        Assert.Equal(3, top.Length);
        // The same preprocessing (defaults from the model: 16x16 centre crop, ImageNet RGB) through ORT.
        var input = new ImagePreprocessor(PreprocessingDefaults.FromModel(Core.Onnx.OnnxReader.Load(model))).Process(File.ReadAllBytes(image));
        using var ort = new OrtReference(model, 1);
        var scores = ort.Run(input)[0].Floats;
        var expected = Enumerable.Range(0, 7).OrderByDescending(i => scores[i]).Take(3).ToArray();
        Assert.Equal(expected, top.Select(p => p.GetProperty("index").GetInt32()));
        Assert.Equal(scores[expected[0]], top[0].GetProperty("score").GetSingle(), 4);
    }

    [Fact]
    public void Compare_Runs_A_Dsconv_Artifact_On_The_Integer_Kernels_Against_Ort_Dequantizing_It()
    {
        var fp32 = Core.Onnx.OnnxReader.Load(ClassifierFile());
        var options = new Core.Quantization.QuantizationOptions { WeightBits = 8, BlockSize = 8, ActivationBits = 0 };
        var result = Core.Quantization.DSConvQuantizer.Quantize(fp32, options, null, null, CancellationToken.None);
        var path = Path.Combine(_dir, "artifact.onnx");
        File.WriteAllBytes(path, result.ToArtifactBytes(null, ["a", "b", "c", "d", "e", "f", "g"]));
        var (code, stdout, stderr) = Invoke("compare", "--model", path, "--runs", "1", "--json");
        Assert.True(code == 0, stderr);
        // Weight-only quantization: both engines use the same dequantized weights, so they agree closely.
        Assert.InRange(JsonDocument.Parse(stdout).RootElement.GetProperty("relativeDiff").GetDouble(), 0, 1e-4);
        (code, stdout, stderr) = Invoke("run", "--model", path, "--image", ImageFile("q.png", SKColors.Teal), "--json");
        Assert.True(code == 0, stderr);
        var label = JsonDocument.Parse(stdout).RootElement.GetProperty("topK")[0].GetProperty("label").GetString();
        Assert.Contains(label, new[] { "a", "b", "c", "d", "e", "f", "g" });
    }

    [Fact]
    public void Missing_Model_File_Is_A_Clear_Error()
    {
        var missing = Path.Combine(_dir, "nope.onnx");
        var (code, _, stderr) = Invoke("compare", "--model", missing);
        Assert.NotEqual(0, code);
        Assert.Contains("nope.onnx", stderr);
        Assert.Contains("does not exist", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void Non_Onnx_File_Is_A_Clear_Error()
    {
        var path = Path.Combine(_dir, "notes.onnx");
        File.WriteAllText(path, "just some text, not a protobuf");
        var (code, _, stderr) = Invoke("run", "--model", path, "--image", ImageFile("y.png", SKColors.Gray));
        Assert.NotEqual(0, code);
        Assert.Contains("not an ONNX model", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void Unsupported_Operator_Is_Named()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 4);
        var node = b.Node("Relu", [x]);
        b.Output(node);
        var model = b.Build();
        model.Graph.Nodes[0].OpType = "FancyUnknownOp";
        model.Graph.Nodes[0].Domain = "com.example";
        model.Opsets["com.example"] = 1;
        var path = Path.Combine(_dir, "custom.onnx");
        Core.Onnx.OnnxWriter.Save(model, path);
        var (code, _, stderr) = Invoke("compare", "--model", path);
        Assert.NotEqual(0, code);
        Assert.Contains("FancyUnknownOp", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void Undecodable_Image_And_Bad_Options_Are_Clear_Errors()
    {
        var model = ClassifierFile();
        var bad = Path.Combine(_dir, "bad.png");
        File.WriteAllText(bad, "not an image");
        var (code, _, stderr) = Invoke("run", "--model", model, "--image", bad);
        Assert.NotEqual(0, code);
        Assert.Contains("bad.png", stderr);
        (code, _, stderr) = Invoke("run", "--model", model, "--image", ImageFile("z.png", SKColors.Red), "--mean", "1,2");
        Assert.NotEqual(0, code);
        Assert.Contains("mean", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }
}
