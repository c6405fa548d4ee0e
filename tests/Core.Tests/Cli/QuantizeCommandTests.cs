using System.IO.Compression;
using System.Text.Json;
using DSConvService.Cli;
using DSConvService.Core.Evaluation;
using DSConvService.Core.Imaging;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization.Artifact;
using DSConvService.Core.Tests.Imaging;
using DSConvService.TestSupport;
using SkiaSharp;
using Xunit;
using static DSConvService.Core.Tests.Passes.PassTestModels;

namespace DSConvService.Core.Tests.Cli;

public sealed class QuantizeCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dsconv-quantize-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>conv-BN-relu (32 channels, so blocks of 32 and 8 both matter), 1x1 conv head, global pool: 5 classes over 3x16x16, dynamic batch.</summary>
    private string ClassifierFile()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", -1, 3, 16, 16);
        var c1 = b.Node("Relu", [BatchNorm(b, Conv(b, x, 3, 32, 1), 32, 2)]);
        var c2 = b.Node("Relu", [Conv(b, c1, 32, 16, 3)]);
        var head = b.Node("Conv", [c2, Weights(b, 4, 5, 16, 1, 1), Weights(b, 5, 5)]);
        b.Output(b.Node("Flatten", [b.Node("GlobalAveragePool", [head])]));
        var path = Path.Combine(_dir, "classifier.onnx");
        File.WriteAllBytes(path, b.ToBytes());
        return path;
    }

    private static byte[] Png(int seed) =>
        TestImages.Encode(18, 16, (x, y) => new SKColor((byte)(seed * 37 ^ x * 11), (byte)(seed * 91 ^ y * 7), (byte)(x * y + seed * 13)));

    /// <summary>An ImageFolder zip with integer class folders; returns the path and the entries (name → class).</summary>
    private (string Path, List<(string Name, int Class)> Entries) EvalZip(int images)
    {
        var path = Path.Combine(_dir, "eval.zip");
        var entries = new List<(string, int)>();
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            for (var i = 0; i < images; i++)
            {
                var name = $"{i % 5}/img{i:D2}.png";
                using var s = zip.CreateEntry(name).Open();
                s.Write(Png(i));
                entries.Add((name, i % 5));
            }
        }
        return (path, entries);
    }

    private string CalibrationFolder(int images)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, "calib")).FullName;
        for (var i = 0; i < images; i++)
        {
            File.WriteAllBytes(Path.Combine(dir, $"c{i}.png"), Png(100 + i));
        }
        File.WriteAllText(Path.Combine(dir, "README.txt"), "not an image: skipped");
        return dir;
    }

    private static (int Code, string Out, string Err) Invoke(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static JsonElement Report(params string[] args)
    {
        var (code, stdout, stderr) = Invoke(args);
        Assert.True(code == 0, stderr);
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    [Fact]
    public void Report_Has_The_Service_Shape_And_The_Artifact_Loads_Back()
    {
        var model = ClassifierFile();
        var output = Path.Combine(_dir, "q.onnx");
        var r = Report("quantize", "-m", model, "-o", output, "--threads", "1", "--latency-runs", "2", "--json");

        foreach (var section in new[] { "model", "accuracy", "fidelity", "latency", "layers", "timings" })
        {
            Assert.True(r.TryGetProperty(section, out _), $"missing {section}");
        }
        var m = r.GetProperty("model");
        foreach (var field in new[] { "parameters", "fp32Bytes", "quantizedBytes", "compressionRatio", "quantizedLayers", "skippedLayers" })
        {
            Assert.True(m.TryGetProperty(field, out _), $"missing model.{field}");
        }
        Assert.Equal(3, m.GetProperty("quantizedLayers").GetInt32());
        Assert.Equal(new FileInfo(model).Length, m.GetProperty("fp32Bytes").GetInt64());
        Assert.Equal(new FileInfo(output).Length, m.GetProperty("quantizedBytes").GetInt64());
        Assert.Equal((double)new FileInfo(model).Length / new FileInfo(output).Length, m.GetProperty("compressionRatio").GetDouble(), 6);
        Assert.Equal(JsonValueKind.Null, r.GetProperty("accuracy").ValueKind);

        var f = r.GetProperty("fidelity");
        Assert.Equal("synthetic", r.GetProperty("fidelityInputs").GetString());
        Assert.Equal(16, f.GetProperty("samples").GetInt32());
        Assert.InRange(f.GetProperty("cosine").GetDouble(), 0.5, 1.0);
        // Agreement and KL recomputed independently on the same 16 synthetic inputs (ORT fp32 against this engine on the file written).
        var synthetic = SyntheticInputs.Create(PreprocessingDefaults.FromModel(OnnxReader.Load(model)), 16);
        var (agreement, meanKl) = IndependentFidelity.Of(File.ReadAllBytes(model), File.ReadAllBytes(output), synthetic);
        Assert.Equal(agreement, f.GetProperty("top1Agreement").GetDouble(), 9);
        Assert.Equal(meanKl, f.GetProperty("meanKl").GetDouble(), 6);
        Assert.True(meanKl > 0, "4-bit weights and 8-bit activations change the output distribution a little");

        var l = r.GetProperty("latency");
        Assert.Equal(1, l.GetProperty("threads").GetInt32());
        Assert.Equal(1, l.GetProperty("batch").GetInt32());
        Assert.Equal(l.GetProperty("fp32OrtMs").GetDouble() / l.GetProperty("dsconvMs").GetDouble(), l.GetProperty("speedup").GetDouble(), 6);

        var layers = r.GetProperty("layers").EnumerateArray().ToArray();
        Assert.Equal(3, layers.Length);
        foreach (var layer in layers)
        {
            Assert.Equal(4, layer.GetProperty("weightBits").GetInt32());
            Assert.Equal(32, layer.GetProperty("blockSize").GetInt32());
            Assert.True(layer.GetProperty("macs").GetInt64() > 0);
            Assert.Equal(JsonValueKind.Number, layer.GetProperty("outputSqnrDb").ValueKind);
        }
        // First conv: 3·3·3 inputs per output, 32 outputs, 16x16 positions (pad 1).
        Assert.Equal(16L * 16 * 32 * 3 * 9, layers[0].GetProperty("macs").GetInt64());
        Assert.True(r.GetProperty("timings").GetProperty("quantizeSeconds").GetDouble() > 0);

        var (loaded, metadata) = DSConvArtifact.Load(File.ReadAllBytes(output));
        Assert.Equal(3, loaded.Graph.Nodes.Count(Core.Quantization.DSConvNodes.IsDSConv));
        Assert.Equal(PreprocessingDefaults.FromModel(OnnxReader.Load(model)).Width, metadata!.Preprocessing!.Width);
        Assert.Equal(4, metadata.Settings.WeightBits);
    }

    [Fact]
    public void Layer_Flags_Scale_And_Bias_Correction_Reach_The_Report_And_The_Artifact()
    {
        var model = ClassifierFile();
        var names = Core.Quantization.DSConvQuantizer.QuantizableLayers(OnnxReader.Load(model));
        var output = Path.Combine(_dir, "mixed.onnx");
        var r = Report("quantize", "-m", model, "-o", output, "--layer", $"{names[0]}=8/16", "--layer", $"{names[2]}=6",
            "--scale", "max", "--bias-correction", "--latency-runs", "0", "--json");
        var layers = r.GetProperty("layers").EnumerateArray().ToArray();
        Assert.Equal([8, 4, 6], layers.Select(l => l.GetProperty("weightBits").GetInt32()));
        Assert.Equal([16, 32, 32], layers.Select(l => l.GetProperty("blockSize").GetInt32()));
        Assert.Equal([8, 4, 8], layers.Select(l => l.GetProperty("storageBitsPerWeight").GetInt32()));
        Assert.Equal([false, false, true], layers.Select(l => l.GetProperty("wastesStorage").GetBoolean()));
        var method = r.GetProperty("quantization");
        Assert.Equal("max", method.GetProperty("scale").GetString());
        Assert.True(method.GetProperty("biasCorrection").GetBoolean());
        // Only the second conv reads a BatchNorm (through Relu).
        Assert.Equal(1, method.GetProperty("biasCorrectedLayers").GetInt32());
        var (_, metadata) = DSConvArtifact.Load(File.ReadAllBytes(output));
        Assert.Equal(8, metadata!.For(names[0]).WeightBits);
        Assert.Equal(16, metadata.For(names[0]).BlockSize);
        Assert.Equal(6, metadata.For(names[2]).WeightBits);

        var defaults = Report("quantize", "-m", model, "-o", output, "--no-bias-correction", "--latency-runs", "0", "--json").GetProperty("quantization");
        Assert.Equal(Core.Quantization.QuantizationOptions.DefaultScale == Core.Quantization.ScaleRule.Mse ? "mse" : "max", defaults.GetProperty("scale").GetString());
        Assert.False(defaults.GetProperty("biasCorrection").GetBoolean());
        Assert.Equal(0, defaults.GetProperty("biasCorrectedLayers").GetInt32());
    }

    [Theory]
    [InlineData("nope=8", "layers.nope")]
    [InlineData("{0}=9", "--layer {0}: --bits")]
    [InlineData("{0}=8/0", "--layer {0}: --block")]
    [InlineData("{0}", "NAME=BITS")]
    [InlineData("{0}=x/16", "whole numbers")]
    public void Bad_Layer_Flags_Are_Refused_Naming_Them(string flag, string message)
    {
        var model = ClassifierFile();
        var name = Core.Quantization.DSConvQuantizer.QuantizableLayers(OnnxReader.Load(model))[0];
        var (code, _, err) = Invoke("quantize", "-m", model, "-o", Path.Combine(_dir, "bad.onnx"), "--layer", string.Format(flag, name), "--latency-runs", "0");
        Assert.NotEqual(0, code);
        Assert.Contains(string.Format(message, name), err);
    }

    [Fact]
    public void More_Bits_Give_Higher_Fidelity()
    {
        var model = ClassifierFile();
        double Cosine(int bits) => Report("quantize", "-m", model, "-o", Path.Combine(_dir, $"q{bits}.onnx"), "--bits", bits.ToString(),
            "--block", "8", "--latency-runs", "0", "--json").GetProperty("fidelity").GetProperty("cosine").GetDouble();
        var two = Cosine(2);
        var eight = Cosine(8);
        Assert.True(eight > two, $"cosine at 8 bits {eight} is not above 2 bits {two}");
        Assert.True(eight > 0.99, $"cosine at 8 bits {eight}");
    }

    [Fact]
    public void Accuracy_On_An_Eval_Zip_Matches_Ort_On_The_Same_Images_And_Labels_Go_Into_The_Artifact()
    {
        var model = ClassifierFile();
        var (zip, entries) = EvalZip(15);
        var labels = Path.Combine(_dir, "labels.txt");
        File.WriteAllLines(labels, ["zero", "one", "two", "three", "four"]);
        var output = Path.Combine(_dir, "q.onnx");
        var r = Report("quantize", "-m", model, "-o", output, "--eval", zip, "--labels", labels, "--bits", "8", "--latency-runs", "0", "--json");

        var a = r.GetProperty("accuracy");
        Assert.Equal(15, a.GetProperty("samples").GetInt32());
        Assert.Equal("evaluation", r.GetProperty("fidelityInputs").GetString());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("latency").ValueKind);
        // fp32 top-1 recomputed independently: ORT on each image with the model's default preprocessing.
        var preprocessor = new ImagePreprocessor(PreprocessingDefaults.FromModel(OnnxReader.Load(model)));
        using var ort = new OrtReference(model, 1);
        using var archive = ZipFile.OpenRead(zip);
        var correct = entries.Count(e =>
        {
            using var s = archive.GetEntry(e.Name)!.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            var scores = ort.Run(preprocessor.Process(ms.ToArray()))[0].Floats;
            return Array.IndexOf(scores, scores.Max()) == e.Class;
        });
        Assert.Equal(correct / 15.0, a.GetProperty("fp32Top1").GetDouble(), 9);
        Assert.Equal(a.GetProperty("fp32Top1").GetDouble() - a.GetProperty("quantizedTop1").GetDouble(), a.GetProperty("top1Drop").GetDouble(), 9);

        var (_, metadata) = DSConvArtifact.Load(File.ReadAllBytes(output));
        Assert.Equal(["zero", "one", "two", "three", "four"], metadata!.Labels!);
    }

    [Fact]
    public void Adaptation_On_A_Calibration_Folder_Keeps_Calibration_Fidelity()
    {
        var model = ClassifierFile();
        var calib = CalibrationFolder(6);
        JsonElement Fidelity(bool adapt)
        {
            var args = new List<string> { "quantize", "-m", model, "-o", Path.Combine(_dir, $"a{adapt}.onnx"), "--bits", "3", "--calibration", calib, "--latency-runs", "0", "--json" };
            if (adapt)
            {
                args.Add("--adapt");
            }
            var r = Report([.. args]);
            Assert.Equal("calibration", r.GetProperty("fidelityInputs").GetString());
            return r.GetProperty("fidelity");
        }
        var plain = Fidelity(false);
        var adapted = Fidelity(true);
        Assert.Equal(6, adapted.GetProperty("samples").GetInt32());
        // DESIGN 2.4: adaptation never makes calibration-set fidelity worse (small slack for float summation).
        Assert.True(adapted.GetProperty("outputSqnrDb").GetDouble() >= plain.GetProperty("outputSqnrDb").GetDouble() - 0.05,
            $"adapted {adapted} vs data-free {plain}");
    }

    [Fact]
    public void Readable_Summary_Names_The_Numbers()
    {
        var (code, stdout, stderr) = Invoke("quantize", "-m", ClassifierFile(), "-o", Path.Combine(_dir, "q.onnx"), "--latency-runs", "1");
        Assert.True(code == 0, stderr);
        foreach (var word in new[] { "bits per weight", "cosine", "latency", "quantize", "layers" })
        {
            Assert.Contains(word, stdout);
        }
    }

    [Theory]
    [InlineData("--bits", "9", "--bits")]
    [InlineData("--bits", "1", "--bits")]
    [InlineData("--block", "0", "--block")]
    [InlineData("--block", "300", "--block")]
    [InlineData("--activation-bits", "1", "--activation-bits")]
    [InlineData("--threads", "0", "--threads")]
    [InlineData("--kds", "l3", "l3")]
    [InlineData("--adapt", null, "--calibration")]
    [InlineData("--eval", "missing.zip", "missing.zip")]
    [InlineData("--calibration", "nowhere", "nowhere")]
    public void Bad_Options_Are_Clear_Errors_And_Write_Nothing(string option, string? value, string expected)
    {
        var output = Path.Combine(_dir, "never.onnx");
        var args = new List<string> { "quantize", "-m", ClassifierFile(), "-o", output, option };
        if (value is not null)
        {
            args.Add(value);
        }
        var (code, _, stderr) = Invoke([.. args]);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void An_Artifact_Or_A_Non_Zip_Eval_Is_Refused()
    {
        var model = ClassifierFile();
        var artifact = Path.Combine(_dir, "q.onnx");
        Report("quantize", "-m", model, "-o", artifact, "--latency-runs", "0", "--json");
        var (code, _, stderr) = Invoke("quantize", "-m", artifact, "-o", Path.Combine(_dir, "qq.onnx"));
        Assert.NotEqual(0, code);
        Assert.Contains("already a DSConv artifact", stderr);

        var notZip = Path.Combine(_dir, "eval.zip");
        File.WriteAllText(notZip, "plain text");
        (code, _, stderr) = Invoke("quantize", "-m", model, "-o", Path.Combine(_dir, "q2.onnx"), "--eval", notZip);
        Assert.NotEqual(0, code);
        Assert.Contains("not a valid zip", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void Compare_With_Reference_Runs_The_Artifact_Against_Ort_On_The_Original()
    {
        var model = ClassifierFile();
        var artifact = Path.Combine(_dir, "q.onnx");
        Report("quantize", "-m", model, "-o", artifact, "--bits", "8", "--block", "8", "--latency-runs", "0", "--json");

        var r = Report("compare", "-m", artifact, "--reference", model, "--batch", "2", "--runs", "2", "--threads", "1", "--json");
        var ours = r.GetProperty("oursMs").GetDouble();
        Assert.Equal(ours, r.GetProperty("dsconvMs").GetDouble());
        Assert.Equal(r.GetProperty("ortMs").GetDouble() / ours, r.GetProperty("speedup").GetDouble(), 6);
        // 8-bit weights and activations against the fp32 original: close, but not identical.
        Assert.InRange(r.GetProperty("relativeDiff").GetDouble(), 1e-7, 0.05);

        var plain = Report("compare", "-m", artifact, "--runs", "1", "--json");
        Assert.False(plain.TryGetProperty("speedup", out _));
        Assert.False(plain.TryGetProperty("dsconvMs", out _));

        var (code, _, stderr) = Invoke("compare", "-m", model, "--reference", model);
        Assert.NotEqual(0, code);
        Assert.Contains("--reference is for DSConv artifacts", stderr);
        (code, _, stderr) = Invoke("compare", "-m", artifact, "--reference", artifact);
        Assert.NotEqual(0, code);
        Assert.Contains("itself a DSConv artifact", stderr);
    }

    [SkippableFact]
    public void LeNet_On_Mnist_Images_Keeps_Its_Accuracy()
    {
        var model = TestData.SharedFile("models/lenet_bn.onnx");
        var zip = TestData.SharedFile("mnist/mnist-eval-2000.zip");
        var output = Path.Combine(_dir, "lenet.onnx");
        var r = Report("quantize", "-m", model, "-o", output, "--eval", zip, "--max-eval", "200", "--latency-runs", "2", "--threads", "2", "--json");

        var a = r.GetProperty("accuracy");
        Assert.Equal(200, a.GetProperty("samples").GetInt32());
        Assert.InRange(a.GetProperty("fp32Top1").GetDouble(), 0.95, 1.0);
        Assert.InRange(a.GetProperty("top1Drop").GetDouble(), -0.02, 0.02);
        Assert.InRange(r.GetProperty("fidelity").GetProperty("cosine").GetDouble(), 0.98, 1.0);
        var m = r.GetProperty("model");
        Assert.Equal(5, m.GetProperty("quantizedLayers").GetInt32());
        Assert.True(m.GetProperty("compressionRatio").GetDouble() >= 6, m.ToString());
        Assert.Equal(5, r.GetProperty("layers").GetArrayLength());
        var (loaded, metadata) = DSConvArtifact.Load(File.ReadAllBytes(output));
        Assert.Equal(5, loaded.Graph.Nodes.Count(Core.Quantization.DSConvNodes.IsDSConv));
        Assert.Equal(ColorMode.Gray, metadata!.Preprocessing!.ColorMode);
    }
}
