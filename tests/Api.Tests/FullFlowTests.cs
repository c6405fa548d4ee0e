using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using DSConvService.Core.Evaluation;
using DSConvService.Core.Imaging;
using DSConvService.Core.Onnx;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Api.Tests;

/// <summary>quantize → poll → report → artifact → infer, with real quantization of real models.</summary>
public sealed class FullFlowTests : IDisposable
{
    private static readonly string[] Digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_generated_model_goes_through_the_whole_flow()
    {
        await using var app = new ServiceApp(_dir.Path, new() { ["Limits:MaxImagePixels"] = "1000000" });
        var client = app.CreateClient();
        var model = TestInputs.TinyCnn();
        var evaluation = TestInputs.EvaluationZip(classes: 10, perClass: 2);

        var post = await client.PostAsync("/quantize", TestInputs.Form(model, evaluation, labels: string.Join('\n', Digits), options: """{"blockSize":8}"""));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var accepted = (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!;
        Assert.Equal("queued", accepted.Status);
        Assert.Equal($"/jobs/{accepted.Id}", post.Headers.Location!.OriginalString);

        var job = await ServiceApp.WaitAsync(client, accepted.Id);
        Assert.True(job.Status == "succeeded", $"job {job.Status}: {job.Error}");
        Assert.Equal(1.0, job.Progress);
        Assert.Equal(8, job.Options!.BlockSize);
        Assert.Equal("gray", job.Options.Preprocessing!.ColorMode);
        Assert.NotNull(job.StartedAt);
        Assert.NotNull(job.FinishedAt);

        // Report: the fields of DESIGN 5, consistent with each other and with an independent ORT run.
        var report = job.Report!;
        Assert.Equal(model.Length, report.Model.Fp32Bytes);
        Assert.Equal(3, report.Model.QuantizedLayers);
        Assert.Equal((double)report.Model.Fp32Bytes / report.Model.QuantizedBytes, report.Model.CompressionRatio, 9);
        Assert.Equal(3, report.Layers.Count);
        Assert.All(report.Layers, l => Assert.Equal(4, l.WeightBits));
        Assert.Equal("evaluation", report.FidelityInputs);
        Assert.Equal(20, report.Fidelity!.Samples);
        Assert.InRange(report.Fidelity.Cosine, 0.5, 1.0000001);
        var accuracy = report.Accuracy!;
        Assert.Equal(20, accuracy.Samples);
        Assert.Equal(accuracy.Fp32Top1 - accuracy.QuantizedTop1, accuracy.Top1Drop, 9);
        var images = EvaluationImages(evaluation, OptionsOf(job));
        Assert.Equal(OrtTop1(model, images), accuracy.Fp32Top1, 9);
        Assert.True(report.Latency!.Threads > 0);
        Assert.Equal(1, report.Latency.Batch);
        Assert.True(report.Timings.QuantizeSeconds > 0 && report.Timings.EvaluateSeconds > 0);

        // Artifact: ETag is the sha256, If-None-Match answers 304, and ONNX Runtime can run the file.
        var artifact = await client.GetAsync($"/jobs/{job.Id}/artifact");
        Assert.Equal(HttpStatusCode.OK, artifact.StatusCode);
        var bytes = await artifact.Content.ReadAsByteArrayAsync();
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.Equal($"\"{sha}\"", artifact.Headers.ETag!.Tag);
        Assert.Equal(job.ArtifactSha256, sha);
        Assert.Equal(report.Model.QuantizedBytes, bytes.Length);
        // Fidelity recomputed independently on the same images: ORT on the fp32 model, this engine on the downloaded artifact.
        var (agreement, meanKl) = IndependentFidelity.Of(model, bytes, images.Select(i => i.Input).ToList());
        Assert.Equal(agreement, report.Fidelity.Top1Agreement!.Value, 9);
        Assert.Equal(meanKl, report.Fidelity.MeanKl!.Value, 6);
        var conditional = new HttpRequestMessage(HttpMethod.Get, $"/jobs/{job.Id}/artifact");
        conditional.Headers.IfNoneMatch.Add(new EntityTagHeaderValue($"\"{sha}\""));
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(conditional)).StatusCode);

        // Inference: multipart and raw body agree; labels come from the labels file; many requests at once are fine.
        var image = TestInputs.Png(16, 16, 5);
        var multipart = new MultipartFormDataContent { { TestInputs.File(image), "image", "x.png" } };
        var inferred = await client.PostAsync($"/infer?model={job.Id}&topk=3", multipart);
        Assert.Equal(HttpStatusCode.OK, inferred.StatusCode);
        var answer = (await inferred.Content.ReadFromJsonAsync<InferResponse>(ServiceApp.Json))!;
        Assert.Equal(job.Id, answer.Model);
        Assert.False(string.IsNullOrEmpty(answer.Engine));
        Assert.True(answer.LatencyMs > 0);
        Assert.Equal(3, answer.Predictions.Count);
        Assert.True(answer.Predictions[0].Score >= answer.Predictions[1].Score && answer.Predictions[1].Score >= answer.Predictions[2].Score);
        Assert.All(answer.Predictions, p => Assert.Equal(Digits[p.Index], p.Label));
        AssertAgreesWithOrt(bytes, image, OptionsOf(job), answer);

        var raw = await client.PostAsync($"/infer?model={job.Id}&topk=3", TestInputs.File(image));
        var rawAnswer = (await raw.Content.ReadFromJsonAsync<InferResponse>(ServiceApp.Json))!;
        Assert.Equal(answer.Predictions, rawAnswer.Predictions);

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            var png = TestInputs.Png(16, 16, i % 4);
            var r = await client.PostAsync($"/infer?model={job.Id}&topk=1", TestInputs.File(png));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            return (i % 4, (await r.Content.ReadFromJsonAsync<InferResponse>(ServiceApp.Json))!.Predictions[0]);
        }));
        foreach (var group in concurrent.GroupBy(c => c.Item1))
        {
            Assert.Single(group.Select(g => g.Item2).Distinct());
        }

        // An image too large to decode safely, and a body that is no image, are 400 problems.
        var huge = await client.PostAsync($"/infer?model={job.Id}", TestInputs.File(SolidPng(1100, 1000)));
        await Problems.AssertAsync(huge, HttpStatusCode.BadRequest, "pixels");
        var notImage = await client.PostAsync($"/infer?model={job.Id}", TestInputs.File("hello"u8.ToArray()));
        await Problems.AssertAsync(notImage, HttpStatusCode.BadRequest, "image");

        // Listing, then deleting the finished job with its files.
        var list = (await client.GetFromJsonAsync<JobListResponse>("/jobs?page=1&pageSize=10", ServiceApp.Json))!;
        Assert.Equal(1, list.Total);
        Assert.Equal(job.Id, list.Items[0].Id);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/jobs/{job.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/jobs/{job.Id}")).StatusCode);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir.Path, "artifacts")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_dir.Path, "uploads")));
    }

    [SkippableFact]
    public async Task The_trained_lenet_keeps_its_accuracy_on_real_mnist_images()
    {
        var modelPath = TestData.SharedFile("models/lenet_bn.onnx");
        var evalPath = TestData.SharedFile("mnist/mnist-eval-2000.zip");
        var subset = Subset(evalPath, perClass: 8);
        await using var app = new ServiceApp(_dir.Path);
        var client = app.CreateClient();

        var post = await client.PostAsync("/quantize", TestInputs.Form(await File.ReadAllBytesAsync(modelPath), subset));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var id = (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id;
        var job = await ServiceApp.WaitAsync(client, id);

        Assert.True(job.Status == "succeeded", $"job {job.Status}: {job.Error}");
        var report = job.Report!;
        Assert.Equal(80, report.Accuracy!.Samples);
        Assert.True(report.Accuracy.Fp32Top1 >= 0.95, $"fp32 top-1 {report.Accuracy.Fp32Top1}");
        Assert.True(report.Accuracy.Top1Drop <= 0.05, $"top-1 drop {report.Accuracy.Top1Drop}");
        Assert.True(report.Fidelity!.Top1Agreement >= 0.9, $"agreement {report.Fidelity.Top1Agreement}");
        Assert.True(report.Model.CompressionRatio >= 6, $"compression {report.Model.CompressionRatio}");

        using var zip = System.IO.Compression.ZipFile.OpenRead(evalPath);
        var seven = zip.Entries.First(e => e.FullName.StartsWith("7/", StringComparison.Ordinal));
        using var s = seven.Open();
        using var m = new MemoryStream();
        await s.CopyToAsync(m);
        var answer = await (await client.PostAsync($"/infer?model={id}", TestInputs.File(m.ToArray())))
            .Content.ReadFromJsonAsync<InferResponse>(ServiceApp.Json);
        Assert.Equal(7, answer!.Predictions[0].Index);
    }

    private static PreprocessingOptions OptionsOf(JobResponse job) => Worker.Jobs.OptionsResolver.ToPreprocessing(job.Options!);

    /// <summary>The evaluation zip's images preprocessed here, with the class of their folder.</summary>
    private static List<(Core.Tensors.Tensor Input, int Label)> EvaluationImages(byte[] zipBytes, PreprocessingOptions preprocessing)
    {
        var pre = new ImagePreprocessor(preprocessing);
        using var zip = new System.IO.Compression.ZipArchive(new MemoryStream(zipBytes));
        return zip.Entries.Select(entry =>
        {
            using var s = entry.Open();
            using var m = new MemoryStream();
            s.CopyTo(m);
            return (pre.Process(m.ToArray()), int.Parse(entry.FullName.Split('/')[0]));
        }).ToList();
    }

    /// <summary>fp32 top-1 of the evaluation images computed here, independently of the service: ORT on each image.</summary>
    private static double OrtTop1(byte[] model, List<(Core.Tensors.Tensor Input, int Label)> images)
    {
        using var ort = new OrtReference(model, 1);
        var correct = images.Count(i =>
        {
            var scores = ort.Run(i.Input)[0].Floats;
            return Array.IndexOf(scores, scores.Max()) == i.Label;
        });
        return (double)correct / images.Count;
    }

    /// <summary>ONNX Runtime runs the artifact with dequantized weights (float activations): a clear winner must match.</summary>
    private static void AssertAgreesWithOrt(byte[] artifact, byte[] image, PreprocessingOptions preprocessing, InferResponse answer)
    {
        using var ort = new OrtReference(artifact, 1);
        var scores = ort.Run(new ImagePreprocessor(preprocessing).Process(image))[0].Floats;
        var sorted = scores.Select((s, i) => (s, i)).OrderByDescending(p => p.s).ToArray();
        var max = sorted[0].s;
        var probabilities = scores.Select(s => Math.Exp(s - max)).ToArray();
        var sum = probabilities.Sum();
        if ((probabilities[sorted[0].i] - probabilities[sorted[1].i]) / sum > 0.1)
        {
            Assert.Equal(sorted[0].i, answer.Predictions[0].Index);
        }
    }

    private static byte[] Subset(string zipPath, int perClass)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(zipPath);
        var entries = zip.Entries.Where(e => e.FullName.EndsWith(".png", StringComparison.Ordinal))
            .GroupBy(e => e.FullName.Split('/')[0])
            .SelectMany(g => g.Take(perClass))
            .Select(e =>
            {
                using var s = e.Open();
                using var m = new MemoryStream();
                s.CopyTo(m);
                return (e.FullName, m.ToArray());
            }).ToArray();
        return TestInputs.Zip(entries);
    }

    private static byte[] SolidPng(int width, int height)
    {
        using var bitmap = new SkiaSharp.SKBitmap(width, height, SkiaSharp.SKColorType.Gray8, SkiaSharp.SKAlphaType.Opaque);
        bitmap.Erase(SkiaSharp.SKColors.Gray);
        using var image = SkiaSharp.SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

}
