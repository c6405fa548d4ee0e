using CsCheck;
using DSConvService.Core.Datasets;
using DSConvService.Core.Imaging;
using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Onnx.Structure;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using DSConvService.Worker.Jobs;
using DSConvService.Worker.Pipeline.Engine;
using DSConvService.Worker.Tests.Support;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace DSConvService.Worker.Tests.Fuzzing;

/// <summary>
/// Fuzzing of everything that reads a client's bytes, in bounded time: the ONNX reader with the
/// submission checks (shapes, memory plan), the dataset zip reader, the image decoder path and the
/// options parser. Only accepted inputs or input errors (4xx) may come out.
/// </summary>
[Collection(Blobs.AllocationMeasurements.Name)]
public sealed class ReaderFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const long MiB = 1024 * 1024;
    private static readonly TimeSpan MaxEach = TimeSpan.FromSeconds(5);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public Task The_onnx_reader_and_submission_checks_refuse_mutated_models_only_with_input_errors()
    {
        var engine = new DsconvEngine();
        return Fuzz.RunAsync(output, Mutations.Of(SmallCnn(), SmallCnn(withPool: true)), bytes => engine.Inspect(bytes), 10_000, 256 * MiB, MaxEach);
    }

    [Fact]
    public Task The_structural_reader_with_every_tensor_left_in_the_bytes_refuses_mutated_models_only_with_input_errors() =>
        Fuzz.RunAsync(output, Mutations.Of(SmallCnn(), SmallCnn(withPool: true)), bytes =>
        {
            // Eager limit 0: every initializer with raw_data is deferred, then read, so that path meets the mutations too.
            foreach (var t in OnnxStructureReader.Load(bytes, eagerBytes: 0).Graph.Initializers.Values)
            {
                _ = t.Data;
            }
        }, 5000, 64 * MiB, MaxEach);

    [Fact]
    public Task The_structural_reader_agrees_with_the_eager_reader_on_mutated_models() =>
        Fuzz.RunAsync(output, Mutations.Of(SmallCnn(), SmallCnn(withPool: true)), bytes =>
        {
            var eager = Outcome(() => OnnxReader.Load(bytes));
            foreach (var limit in new[] { 0, OnnxStructureReader.DefaultEagerBytes })
            {
                var structural = Outcome(() => OnnxStructureReader.Load(bytes, limit));
                Assert.True(eager == structural, $"eager: {eager}; structural (eager limit {limit}): {structural}");
            }
        }, 10_000, 64 * MiB, MaxEach);

    /// <summary>What a reader made of the bytes: the model's outline or its refusal.</summary>
    private static string Outcome(Func<Model> read)
    {
        try
        {
            var m = read();
            return $"{m.Graph.Nodes.Count} nodes, initializers {string.Join(",", m.Graph.Initializers.Select(i => $"{i.Key}{ShapeUtil.Format(i.Value.Shape)}"))}, " +
                $"inputs {string.Join(",", m.Graph.Inputs)}, outputs {string.Join(",", m.Graph.Outputs)}, opsets {string.Join(",", m.Opsets)}";
        }
        catch (InvalidModelException e)
        {
            return e.Message;
        }
    }

    [Fact]
    public Task The_zip_dataset_reader_refuses_mutated_zips_only_with_input_errors()
    {
        var png = Zips.Png(12, 12, 90);
        var folder = ZipBytes(("0/a.png", png), ("1/b.png", Zips.Png(12, 12, 200)), ("1/c.png", png));
        var flat = ZipBytes(("a.png", png), ("sub/b.png", png));
        var reader = new ZipDatasetReader(new DatasetLimits(MaxZipEntries: 100, MaxZipExpandedBytes: 4 * MiB, MaxEntryBytes: MiB));
        var path = Path.Combine(_dir.Path, "fuzz.zip");
        return Fuzz.RunAsync(output, Mutations.Of(folder, flat), bytes =>
        {
            File.WriteAllBytes(path, bytes);
            reader.Validate(path, imageFolder: true, labels: null);
            reader.ReadEvaluation(path, labels: null, maxImages: 50);
            reader.ReadCalibration(path, maxImages: 50);
        }, 3000, 64 * MiB, MaxEach);
    }

    [Fact]
    public Task The_image_decoder_path_refuses_mutated_images_only_with_input_errors()
    {
        var engine = new DsconvEngine();
        var preprocessing = new PreprocessingOptions { Width = 16, Height = 16, ColorMode = ColorMode.Gray, Mean = [0f], Std = [1f] };
        return Fuzz.RunAsync(output, Mutations.Of(Encode(SKEncodedImageFormat.Png), Encode(SKEncodedImageFormat.Jpeg)),
            bytes => engine.Preprocess(bytes, preprocessing, maxPixels: 4_000_000), 10_000, 128 * MiB, MaxEach);
    }

    [Fact]
    public Task The_options_parser_refuses_mutated_options_only_with_input_errors()
    {
        var defaults = new PreprocessingOptions { Width = 16, Height = 16, ColorMode = ColorMode.Gray, Mean = [0f], Std = [1f] };
        const string full = """
            {"preprocessing":{"width":16,"height":16,"resize":"stretch","colorMode":"gray","scale":0.0039,"mean":[0.1],"std":[0.3]},
             "weightBits":4,"blockSize":32,"activationBits":8,"kds":"adaptive","adapt":true,"task":"classify"}
            """;
        return Fuzz.RunAsync(output, Mutations.OfText(full, """{"preprocessing":{"colorMode":"rgb","mean":[0.4,0.4,0.4]}}""", "{}"),
            json => OptionsResolver.Resolve(OptionsResolver.Parse(json), defaults), 10_000, 16 * MiB, MaxEach);
    }

    private static byte[] SmallCnn(bool withPool = false)
    {
        var random = new Random(5);
        float[] W(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var b = new ModelBuilder();
        var x = b.Input("input", 1, 1, 12, 12);
        var c = b.Node("Conv", [x, b.Floats([4, 1, 3, 3], W(36)), b.Floats([4], W(4))], new { kernel_shape = new[] { 3, 3 }, pads = new[] { 1, 1, 1, 1 } });
        var r = b.Node("Relu", [c]);
        var p = withPool ? b.Node("MaxPool", [r], new { kernel_shape = new[] { 2, 2 }, strides = new[] { 2, 2 } }) : r;
        var g = b.Node("GlobalAveragePool", [p]);
        var f = b.Node("Flatten", [g]);
        b.Output(b.Node("Gemm", [f, b.Floats([3, 4], W(12)), b.Floats([3], W(3))], new { transB = 1 }));
        return b.ToBytes();
    }

    private static byte[] ZipBytes(params (string Name, byte[] Content)[] entries)
    {
        var path = Path.GetTempFileName();
        try
        {
            Zips.Write(path, entries);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] Encode(SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(20, 14, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (var y = 0; y < 14; y++)
        {
            for (var x = 0; x < 20; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 12), (byte)(y * 18), 90));
            }
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 90);
        return data.ToArray();
    }
}
