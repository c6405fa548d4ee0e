using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using Xunit;

namespace DSConvService.Api.Tests.Browser;

/// <summary>
/// Headless Chromium from the Debian packages (chromium, chromium-driver; .ci/run installs them),
/// driven by Selenium. Nothing is downloaded: the driver and the browser are named explicitly, and
/// each browser gets a fresh profile that is deleted with it.
/// </summary>
public sealed class Chromium : IDisposable
{
    public const string BrowserPath = "/usr/bin/chromium";
    public const string DriverPath = "/usr/bin/chromedriver";

    private readonly string _profile = Directory.CreateTempSubdirectory("dsconv-chromium-").FullName;

    public Chromium(int width = 1280, int height = 1000)
    {
        Skip.IfNot(File.Exists(BrowserPath) && File.Exists(DriverPath),
            $"{BrowserPath} or {DriverPath} is missing: install the Debian packages chromium and chromium-driver (.ci/run does).");
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(DriverPath)!, Path.GetFileName(DriverPath));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = BrowserPath };
        options.AddArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", $"--user-data-dir={_profile}", $"--window-size={width},{height}");
        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(90));
        Driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(60);
    }

    public ChromeDriver Driver { get; }

    public object? Script(string script, params object[] args) => Driver.ExecuteScript(script, args);

    public long Count(string cssSelector) => (long)Script($"return document.querySelectorAll({System.Text.Json.JsonSerializer.Serialize(cssSelector)}).length;")!;

    /// <summary>Polls until <paramref name="probe"/> answers non-null (exceptions count as "not yet"), or fails with what it last saw.</summary>
    public T WaitFor<T>(Func<T?> probe, string what, TimeSpan? timeout = null) where T : class
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (probe() is { } value)
                {
                    return value;
                }
            }
            catch (WebDriverException e)
            {
                last = e;
            }
            Thread.Sleep(100);
        }
        Assert.Fail($"Timed out waiting for {what}{(last is null ? "" : $" (last error: {last.Message})")}. Page text: {SafeText()}");
        return null!;
    }

    public IWebElement WaitVisible(string cssSelector, TimeSpan? timeout = null) => WaitFor(() =>
        Driver.FindElements(By.CssSelector(cssSelector)).FirstOrDefault(e => e.Displayed), $"'{cssSelector}' to be visible", timeout);

    /// <summary>
    /// Clicks the first visible match, finding it again on every try: lists that re-render while they poll replace
    /// their elements, so one found before the click can be stale by then.
    /// </summary>
    public void ClickVisible(string cssSelector, TimeSpan? timeout = null) => WaitFor(() =>
    {
        var element = Driver.FindElements(By.CssSelector(cssSelector)).FirstOrDefault(e => e.Displayed);
        if (element is null)
        {
            return null;
        }
        element.Click();
        return "clicked";
    }, $"'{cssSelector}' to click", timeout);

    /// <summary>A screenshot of the whole page (the window is stretched to the document's height first).</summary>
    public void SaveFullPageScreenshot(string path)
    {
        var height = Convert.ToInt32(Script("return Math.ceil(document.documentElement.scrollHeight);"));
        var size = Driver.Manage().Window.Size;
        Driver.Manage().Window.Size = new System.Drawing.Size(size.Width, Math.Min(height + 40, 8000));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Driver.GetScreenshot().SaveAsFile(path);
        Driver.Manage().Window.Size = size;
    }

    private string SafeText()
    {
        try
        {
            var text = Driver.FindElement(By.TagName("body")).Text;
            return text.Length > 1500 ? text[..1500] + "…" : text;
        }
        catch (WebDriverException)
        {
            return "(unavailable)";
        }
    }

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
