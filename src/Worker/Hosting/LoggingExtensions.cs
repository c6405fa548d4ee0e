using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace DSConvService.Worker.Hosting;

public static class LoggingExtensions
{
    /// <summary>Console logs with scopes (the job id); JSON lines when Logging:Format is "json".</summary>
    public static ILoggingBuilder AddSimpleConsoleOrJson(this ILoggingBuilder logging, IConfiguration configuration)
    {
        logging.ClearProviders();
        if (string.Equals(configuration["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase))
        {
            logging.AddJsonConsole(o => o.IncludeScopes = true);
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.IncludeScopes = true;
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
        }
        return logging;
    }
}
