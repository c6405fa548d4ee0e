using DSConvService.Worker.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace DSConvService.Api.Extensions;

public static class UploadLimitExtensions
{
    /// <summary>Kestrel's request body limit and the multipart limits follow Limits:MaxUploadBytes.</summary>
    public static IHostApplicationBuilder AddUploadLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>((kestrel, limits) =>
            kestrel.Limits.MaxRequestBodySize = Math.Max(limits.Value.MaxUploadBytes, limits.Value.MaxImageBytes) + 64 * 1024);
        builder.Services.AddOptions<FormOptions>().Configure<IOptions<LimitsOptions>>((form, limits) =>
        {
            form.MultipartBodyLengthLimit = limits.Value.MaxUploadBytes;
            form.BufferBodyLengthLimit = limits.Value.MaxUploadBytes;
        });
        return builder;
    }
}
