using System.Threading.RateLimiting;
using DSConvService.Api.Inference;
using DSConvService.Worker.Hosting;
using Microsoft.Extensions.Options;

namespace DSConvService.Api.Extensions;

public static class InferenceExtensions
{
    public static IHostApplicationBuilder AddInference(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<InferenceOptions>()
            .Bind(builder.Configuration.GetSection(InferenceOptions.Section))
            .Validate(o => o.CacheSize >= 1 && o.Threads >= 0 && o.MaxTopK >= 1,
                "Inference:CacheSize and Inference:MaxTopK must be at least 1, Inference:Threads 0 or more.")
            .Validate(o => o.MaxConcurrency >= 1 && o.MaxQueue >= 0,
                "Inference:MaxConcurrency must be at least 1 and Inference:MaxQueue 0 or more.")
            .ValidateOnStart();
        builder.Services.AddSingleton<ModelCache>();
        builder.Services.AddSingleton(services =>
        {
            var o = services.GetRequiredService<IOptions<InferenceOptions>>().Value;
            return new ConcurrencyLimiter(new ConcurrencyLimiterOptions
            {
                PermitLimit = o.MaxConcurrency,
                QueueLimit = o.MaxQueue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            });
        });
        return builder;
    }

    /// <summary>
    /// Backpressure: at most Inference:MaxConcurrency requests run, Inference:MaxQueue more wait their
    /// turn; beyond that a request gets 503 with Retry-After at once (the queue never grows without bound).
    /// </summary>
    public static RouteHandlerBuilder RequireInferenceConcurrencyLimit(this RouteHandlerBuilder route) =>
        route.AddEndpointFilter(async (context, next) =>
        {
            var limiter = context.HttpContext.RequestServices.GetRequiredService<ConcurrencyLimiter>();
            using var lease = await limiter.AcquireAsync(1, context.HttpContext.RequestAborted);
            if (!lease.IsAcquired)
            {
                var retry = context.HttpContext.RequestServices.GetRequiredService<IOptions<InferenceOptions>>().Value.RetryAfterSeconds;
                context.HttpContext.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
                ServiceMetrics.InferRejected.Inc();
                return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Too many inferences",
                    detail: $"The service is running as many inferences as it is allowed to and its queue is full; retry in {retry} s.");
            }
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                var result = await next(context);
                if (result is IStatusCodeHttpResult { StatusCode: >= 400 } failed)
                {
                    ServiceMetrics.InferErrors.WithLabels(failed.StatusCode.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
                }
                else
                {
                    ServiceMetrics.InferDuration.Observe(clock.Elapsed.TotalSeconds);
                }
                return result;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                ServiceMetrics.InferErrors.WithLabels(e.GetType().Name).Inc();
                throw;
            }
        });
}
