using DSConvService.Api.Inference;

namespace DSConvService.Api.Extensions;

public static class InferenceExtensions
{
    public static IHostApplicationBuilder AddInference(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<InferenceOptions>()
            .Bind(builder.Configuration.GetSection(InferenceOptions.Section))
            .Validate(o => o.CacheSize >= 1 && o.Threads >= 0 && o.MaxTopK >= 1,
                "Inference:CacheSize and Inference:MaxTopK must be at least 1, Inference:Threads 0 or more.")
            .ValidateOnStart();
        builder.Services.AddSingleton<ModelCache>();
        return builder;
    }
}
