using System.Security.Cryptography;
using System.Text;

namespace DSConvService.Api.Extensions;

/// <summary>Optional API keys (section "ApiKeys": name → key). Off when the section is empty.</summary>
public sealed class ApiKeyOptions
{
    public const string Section = "ApiKeys";
    public const string Header = "X-Api-Key";

    public Dictionary<string, string> Keys { get; set; } = new(StringComparer.Ordinal);
}

public static class ApiKeyExtensions
{
    private const string OwnerItem = "dsconv.owner";

    public static IHostApplicationBuilder AddApiKeys(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiKeyOptions>()
            .Configure(o =>
            {
                foreach (var entry in builder.Configuration.GetSection(ApiKeyOptions.Section).GetChildren())
                {
                    if (!string.IsNullOrEmpty(entry.Value))
                    {
                        o.Keys[entry.Key] = entry.Value;
                    }
                }
            })
            .Validate(o => o.Keys.Values.All(k => k.Length >= 8), "Every API key must be at least 8 characters long.")
            .ValidateOnStart();
        return builder;
    }

    /// <summary>
    /// When keys are configured, every request outside /health, /metrics, /openapi, /swagger and the web page's files must carry a
    /// known X-Api-Key; the key's name becomes the owner of the jobs it creates and the only one who sees them.
    /// </summary>
    public static IApplicationBuilder UseApiKeys(this WebApplication app)
    {
        var keys = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ApiKeyOptions>>().Value.Keys
            .Select(kv => (Name: kv.Key, Key: Encoding.UTF8.GetBytes(kv.Value))).ToArray();
        return app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (keys.Length == 0 || Ui.UiApi.IsPagePath(path) || path.StartsWithSegments("/health") || path.StartsWithSegments("/metrics") || path.StartsWithSegments("/openapi") || path.StartsWithSegments("/swagger"))
            {
                await next(context);
                return;
            }
            var given = Encoding.UTF8.GetBytes(context.Request.Headers[ApiKeyOptions.Header].ToString());
            var match = keys.FirstOrDefault(k => CryptographicOperations.FixedTimeEquals(k.Key, given));
            if (match.Name is null)
            {
                await Results.Problem(
                    statusCode: StatusCodes.Status401Unauthorized,
                    title: "API key required",
                    detail: $"Send a valid API key in the {ApiKeyOptions.Header} header.").ExecuteAsync(context);
                return;
            }
            context.Items[OwnerItem] = match.Name;
            await next(context);
        });
    }

    /// <summary>The caller's key name, or null when API keys are off.</summary>
    public static string? Owner(this HttpContext context) => context.Items.TryGetValue(OwnerItem, out var o) ? o as string : null;
}
