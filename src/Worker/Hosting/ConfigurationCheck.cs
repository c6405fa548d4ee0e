using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DSConvService.Worker.Hosting;

public static class ConfigurationCheck
{
    /// <summary>Exit code of a process stopped by invalid settings.</summary>
    public const int InvalidConfigurationExitCode = 2;

    /// <summary>
    /// Runs every settings validation now (those registered with ValidateOnStart); when one fails,
    /// writes one line per problem to stderr and ends the process, instead of a stack trace.
    /// </summary>
    public static void ExitOnInvalidConfiguration(this IServiceProvider services)
    {
        var errors = Check(services);
        if (errors.Count == 0)
        {
            return;
        }
        if (System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name is not ("DSConvService.Api" or "DSConvService.Worker"))
        {
            // Hosted by something else (a test host): fail as the framework would, without ending that process.
            throw new OptionsValidationException("settings", typeof(object), errors);
        }
        foreach (var error in errors)
        {
            Console.Error.WriteLine($"Configuration error: {error}");
        }
        Environment.Exit(InvalidConfigurationExitCode);
    }

    /// <summary>The problems of the settings, one message each (empty when all are valid).</summary>
    public static IReadOnlyList<string> Check(IServiceProvider services)
    {
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
            return [];
        }
        catch (OptionsValidationException e)
        {
            return e.Failures.ToList();
        }
        catch (AggregateException e) when (e.InnerExceptions.All(i => i is OptionsValidationException))
        {
            return e.InnerExceptions.Cast<OptionsValidationException>().SelectMany(i => i.Failures).ToList();
        }
    }
}
