using Serilog;
using Serilog.Formatting.Compact;

namespace DSConvService.Api.Extensions;

public static class LoggingExtensions
{
    /// <summary>Serilog: plain console by default, compact JSON when Logging:Format is "json"; levels from "Serilog" configuration.</summary>
    public static IHostApplicationBuilder AddSerilogLogging(this IHostApplicationBuilder builder)
    {
        var json = string.Equals(builder.Configuration["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase);
        builder.Services.AddSerilog((services, config) =>
        {
            config.ReadFrom.Configuration(builder.Configuration)
                .ReadFrom.Services(services)
                .Enrich.FromLogContext();
            if (json)
            {
                config.WriteTo.Console(new RenderedCompactJsonFormatter());
            }
            else
            {
                config.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{JobIdSuffix}{NewLine}{Exception}")
                    .Enrich.With<JobIdSuffixEnricher>();
            }
        });
        return builder;
    }

    /// <summary>Shows " (job {id})" after a message written inside a job's log scope.</summary>
    private sealed class JobIdSuffixEnricher : Serilog.Core.ILogEventEnricher
    {
        public void Enrich(Serilog.Events.LogEvent logEvent, Serilog.Core.ILogEventPropertyFactory factory)
        {
            var suffix = logEvent.Properties.TryGetValue("JobId", out var id) ? $" (job {id.ToString().Trim('"')})" : "";
            logEvent.AddPropertyIfAbsent(factory.CreateProperty("JobIdSuffix", suffix));
        }
    }
}
