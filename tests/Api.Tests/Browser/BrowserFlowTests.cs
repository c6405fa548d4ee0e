using System.IO.Compression;
using System.Net.Http.Json;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using DSConvService.Api.Tests.Ui;
using DSConvService.ReportHtml.Charts;
using DSConvService.TestSupport;
using OpenQA.Selenium;
using OpenQA.Selenium.Chromium;
using Xunit;
using Xunit.Abstractions;

namespace DSConvService.Api.Tests.Browser;

/// <summary>
/// The web page in a real browser (headless Chromium) against the real service on Kestrel: upload
/// through the form, watch the job, read the report, try an image, open the standalone HTML offline.
/// </summary>
public sealed class BrowserFlowTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Where screenshots go: the test output folder, and $DSCONV_SCREENSHOT_DIR when set (docs/ is refreshed that way).</summary>
    private static IEnumerable<string> ScreenshotPaths(string name)
    {
        yield return Path.Combine(AppContext.BaseDirectory, "screenshots", name);
        if (Environment.GetEnvironmentVariable("DSCONV_SCREENSHOT_DIR") is { Length: > 0 } dir)
        {
            yield return Path.Combine(dir, name);
        }
    }

    [SkippableFact]
    public async Task A_person_uploads_lenet_watches_the_job_reads_the_report_and_tries_a_digit()
    {
        var model = TestData.SharedFile("models/lenet_bn.onnx");
        var mnist = TestData.SharedFile("mnist/mnist-eval-2000.zip");
        var files = Directory.CreateDirectory(Path.Combine(_dir.Path, "files")).FullName;
        var evaluation = Path.Combine(files, "mnist-eval-100.zip");
        var seven = Path.Combine(files, "seven.png");
        var labels = Path.Combine(files, "digits.txt");
        WriteSubset(mnist, evaluation, perClass: 10, seven);
        await File.WriteAllLinesAsync(labels, Digits);

        var (app, baseUrl, client) = LiveService.Start(Path.Combine(_dir.Path, "data"));
        string reportHtml;
        await using (app)
        {
            using var chromium = new Chromium();
            var driver = chromium.Driver;
            driver.Navigate().GoToUrl(baseUrl + "/");

            // The form: choosing the model fills in the options the service infers for it.
            driver.FindElement(By.Id("model")).SendKeys(model);
            chromium.WaitFor(() => driver.FindElement(By.Id("defaults-status")).GetAttribute("data-model") == "lenet_bn.onnx" ? "ok" : null, "the model's defaults");
            Assert.Equal("gray", driver.FindElement(By.Id("opt-colorMode")).GetAttribute("value"));
            Assert.Equal("28", driver.FindElement(By.Id("opt-width")).GetAttribute("value"));
            Assert.Equal("4", driver.FindElement(By.Id("opt-weightBits")).GetAttribute("value"));
            Assert.Equal("classify", driver.FindElement(By.Id("opt-task")).GetAttribute("value"));
            driver.FindElement(By.Id("evaluation")).SendKeys(evaluation);
            driver.FindElement(By.Id("labels")).SendKeys(labels);
            driver.FindElement(By.Id("submit")).Click();

            // The job list shows the job with its status and progress bar until it has finished.
            var seen = new HashSet<string>();
            var id = chromium.WaitFor(() =>
            {
                var r = driver.FindElements(By.CssSelector("#jobs tbody tr")).FirstOrDefault();
                if (r is null)
                {
                    return null;
                }
                var status = r.GetAttribute("data-status")!;
                seen.Add(status);
                return status is "succeeded" or "failed" or "cancelled" ? r.GetAttribute("data-id") : null;
            }, "the job to finish", TimeSpan.FromSeconds(180));
            // The list re-renders while it polls, so an element found once can go stale: every read finds the row again.
            var rowSelector = $"#jobs tr[data-id='{id}']";
            var row = chromium.WaitFor(() =>
            {
                var r = driver.FindElement(By.CssSelector(rowSelector));
                return new FinishedRow(r.GetAttribute("data-status")!, r.FindElement(By.CssSelector("td.model")).Text,
                    r.FindElement(By.TagName("progress")).GetAttribute("value")!);
            }, "the finished job's row");
            Assert.Equal("succeeded", row.Status);
            Assert.Equal("lenet_bn.onnx", row.Model);
            Assert.Equal("1", row.Progress);
            output.WriteLine($"statuses seen in the list: {string.Join(", ", seen)}");
            Assert.True(seen.Contains("queued") || seen.Contains("running"), $"the list only ever showed {string.Join(", ", seen)}");
            foreach (var path in ScreenshotPaths("jobs-page.png"))
            {
                chromium.SaveFullPageScreenshot(path);
            }
            var job = (await client.GetFromJsonAsync<JobResponse>($"/jobs/{id}", ServiceApp.Json))!;

            // The report page: summary, charts with one mark per layer, worst layers, downloads.
            chromium.ClickVisible($"{rowSelector} a.open");
            chromium.WaitVisible("main.dsconv-report");
            Assert.EndsWith($"/ui/jobs/{id}", driver.Url);
            var layers = job.Report!.Layers.Count;
            Assert.Equal(5, layers);
            Assert.Equal(layers, chromium.Count($"figure[data-chart=layers] svg rect[fill='{ChartColors.WeightSqnr}']"));
            Assert.Equal(job.Report.Layers.Count(l => l.OutputSqnrDb is not null), chromium.Count($"figure[data-chart=layers] svg rect[fill='{ChartColors.OutputSqnr}']"));
            Assert.Equal(layers, chromium.Count("table.layers tbody tr"));
            Assert.Equal(2, chromium.Count($"figure[data-chart=latency] svg rect[fill='{ChartColors.Fp32}'], figure[data-chart=latency] svg rect[fill='{ChartColors.Quantized}']"));
            Assert.Equal(1, chromium.Count("table.layers tr.worst"));
            Assert.Equal(job.Report.Model.QuantizedLayers.ToString(), driver.FindElement(By.Id("quantized-layers")).Text);
            Assert.Contains("100 labelled evaluation images", driver.FindElement(By.Id("quality")).Text);
            Assert.True(driver.FindElement(By.Id("artifact-link")).Displayed);

            // Try it: a real MNIST seven, top-1 with its label and a bar per prediction, and the latency.
            chromium.WaitVisible("#try");
            driver.FindElement(By.Id("image")).SendKeys(seven);
            var top1 = chromium.WaitFor(() => driver.FindElements(By.Id("top1")).FirstOrDefault()?.Text is { Length: > 0 } text ? text : null,
                "the top-1 of the digit");
            Assert.Equal("seven", top1);
            Assert.Equal(5, chromium.Count("#predictions li.prediction meter"));
            Assert.Matches(@"\d+\.\d\d ms on dsconv", driver.FindElement(By.Id("infer-summary")).Text);

            foreach (var path in ScreenshotPaths("report-page.png"))
            {
                chromium.SaveFullPageScreenshot(path);
                output.WriteLine($"screenshot: {path}");
            }
            reportHtml = await client.GetStringAsync($"/jobs/{id}/report.html");
        }

        // The standalone file opens with the service gone and the browser offline: charts drawn, nothing fetched.
        var file = Path.Combine(files, "report.html");
        await File.WriteAllTextAsync(file, reportHtml);
        using var offline = new Chromium();
        offline.Driver.NetworkConditions = new ChromiumNetworkConditions { IsOffline = true, Latency = TimeSpan.FromMilliseconds(5) };
        offline.Driver.Navigate().GoToUrl(new Uri(file).AbsoluteUri);
        offline.WaitVisible("main.dsconv-report");
        Assert.Equal(5, offline.Count($"figure[data-chart=layers] svg rect[fill='{ChartColors.WeightSqnr}']"));
        Assert.Equal(3, offline.Count("figure.chart svg"));
        Assert.Equal(0L, (long)offline.Script("return performance.getEntriesByType('resource').length;")!);
        Assert.StartsWith("DSConv report", offline.Driver.Title);
    }

    [SkippableFact]
    public async Task With_api_keys_the_page_asks_for_one_and_shows_only_that_keys_jobs()
    {
        var (app, baseUrl, client) = LiveService.Start(Path.Combine(_dir.Path, "data"), new()
        {
            ["Jobs:RunWorker"] = "false",
            ["ApiKeys:alice"] = "alice-key-0123",
            ["ApiKeys:bob"] = "bob-key-456789",
        });
        await using (app)
        {
            async Task<string> Submit(string key)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/quantize") { Content = TestInputs.Form(TestInputs.TinyCnn()) };
                request.Headers.Add("X-Api-Key", key);
                var response = await client.SendAsync(request);
                return (await response.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id;
            }
            var alices = await Submit("alice-key-0123");
            var bobs = await Submit("bob-key-456789");

            using var chromium = new Chromium();
            var driver = chromium.Driver;
            driver.Navigate().GoToUrl(baseUrl + "/");
            chromium.WaitVisible("#key-panel");
            Assert.Equal(0, chromium.Count("#jobs tbody tr"));
            driver.FindElement(By.Id("api-key")).SendKeys("alice-key-0123");
            driver.FindElement(By.Id("key-submit")).Click();

            var ids = chromium.WaitFor(() =>
            {
                var rows = driver.FindElements(By.CssSelector("#jobs tbody tr"));
                return rows.Count > 0 ? rows.Select(r => r.GetAttribute("data-id")!).ToList() : null;
            }, "alice's jobs");
            Assert.Equal([alices], ids);
            Assert.DoesNotContain(bobs, driver.PageSource);
            Assert.True(driver.FindElement(By.Id("key-panel")).GetAttribute("hidden") is not null);
            Assert.True(driver.FindElement(By.Id("key-status")).Displayed);

            // Cancel the queued job from the list, then delete it.
            chromium.ClickVisible($"#jobs tr[data-id='{alices}'] button.cancel");
            chromium.ClickVisible($"#jobs tr[data-id='{alices}'][data-status='cancelled'] button.delete");
            chromium.WaitVisible("#jobs-empty");
            Assert.Equal(0, chromium.Count("#jobs tbody tr"));
            using var asAlice = new HttpRequestMessage(HttpMethod.Get, $"/jobs/{alices}");
            asAlice.Headers.Add("X-Api-Key", "alice-key-0123");
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await client.SendAsync(asAlice)).StatusCode);

            // The report page of another key's job is not found, with this key sent along.
            driver.Navigate().GoToUrl($"{baseUrl}/ui/jobs/{bobs}");
            Assert.Contains("no job", chromium.WaitVisible("#job-error").Text);
        }
    }

    [SkippableFact]
    public async Task A_feature_model_is_shown_as_one_with_its_vector_instead_of_classes()
    {
        var (app, baseUrl, client) = LiveService.Start(Path.Combine(_dir.Path, "data"));
        await using (app)
        {
            var post = await client.PostAsync("/quantize", TestInputs.Form(UiModels.FeatureExtractor()));
            var id = (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id;
            var image = Path.Combine(_dir.Path, "x.png");
            await File.WriteAllBytesAsync(image, TestInputs.Png(16, 16, 3));

            using var chromium = new Chromium();
            var driver = chromium.Driver;
            driver.Navigate().GoToUrl($"{baseUrl}/ui/jobs/{id}");
            chromium.WaitVisible("main.dsconv-report[data-task=features]", TimeSpan.FromSeconds(90));
            Assert.Contains("Feature model", driver.FindElement(By.Id("task")).Text);
            Assert.Equal(0, chromium.Count("#top1-agreement, #accuracy"));

            chromium.WaitVisible("#try");
            driver.FindElement(By.Id("image")).SendKeys(image);
            chromium.WaitVisible("#feature-result");
            Assert.Matches($@"Feature model: {UiModels.FeatureChannels} values, norm \d+\.\d{{4}}", driver.FindElement(By.Id("infer-summary")).Text);
            Assert.Equal(0, chromium.Count("#predictions li"));
        }
    }

    /// <summary>The first <paramref name="perClass"/> images of every class, and the first seven as a PNG of its own.</summary>
    private static void WriteSubset(string source, string target, int perClass, string sevenPng)
    {
        using var zip = ZipFile.OpenRead(source);
        using var subset = ZipFile.Open(target, ZipArchiveMode.Create);
        foreach (var group in zip.Entries.Where(e => e.Name.EndsWith(".png", StringComparison.OrdinalIgnoreCase)).GroupBy(e => e.FullName.Split('/')[^2]))
        {
            foreach (var entry in group.OrderBy(e => e.FullName, StringComparer.Ordinal).Take(perClass))
            {
                using var from = entry.Open();
                using var to = subset.CreateEntry(entry.FullName).Open();
                from.CopyTo(to);
            }
        }
        var seven = zip.Entries.Where(e => e.FullName.Split('/')[^2] == "7" && e.Name.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            .OrderBy(e => e.FullName, StringComparer.Ordinal).Skip(perClass).First();
        seven.ExtractToFile(sevenPng);
    }

    private sealed record FinishedRow(string Status, string Model, string Progress);
}
