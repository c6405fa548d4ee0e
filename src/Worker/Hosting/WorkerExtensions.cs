using DSConvService.Worker.Artifacts;
using DSConvService.Worker.Blobs;
using DSConvService.Worker.Jobs;
using DSConvService.Worker.Pipeline;
using DSConvService.Worker.Pipeline.Engine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DSConvService.Worker.Hosting;

public static class WorkerExtensions
{
    /// <summary>
    /// The job domain: options (validated on start), the job store (SQLite or PostgreSQL, Jobs:Store), the file store, the engine,
    /// the pipeline and the worker loop (which idles when Jobs:RunWorker is false).
    /// </summary>
    public static IHostApplicationBuilder AddJobs(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        AddValidated<StorageOptions>(builder, StorageOptions.Section, o => o.Validate());
        AddValidated<JobRunnerOptions>(builder, JobRunnerOptions.Section, o => o.Validate());
        services.PostConfigure<JobRunnerOptions>(o => o.PostgresConnectionString ??= builder.Configuration.GetConnectionString("Postgres"));
        services.PostConfigure<StorageOptions>(o => o.PostgresConnectionString ??= builder.Configuration.GetConnectionString("Postgres"));
        AddValidated<LimitsOptions>(builder, LimitsOptions.Section, o => o.Validate());

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IJobStore>(sp =>
        {
            var jobs = sp.GetRequiredService<IOptions<JobRunnerOptions>>().Value;
            return jobs.UsesPostgres
                ? new PostgresJobStore(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<TimeProvider>())
                : new SqliteJobStore(sp.GetRequiredService<IOptions<StorageOptions>>(), sp.GetRequiredService<TimeProvider>());
        });
        // Created only when something asks for it (the postgres stores): one pool per process.
        services.AddSingleton(sp => NpgsqlDataSource.Create(sp.GetRequiredService<IOptions<JobRunnerOptions>>().Value.PostgresConnectionString!));
        services.AddSingleton<FileStore>();
        services.AddSingleton(sp =>
        {
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return new DiskReserve(Path.Combine(storage.FullDataDirectory, DiskReserve.FileName),
                enabled: !sp.GetRequiredService<IOptions<JobRunnerOptions>>().Value.UsesPostgres);
        });
        services.AddSingleton<IBlobStore>(sp => sp.GetRequiredService<IOptions<StorageOptions>>().Value.UsesPostgresBlobs
            ? new PostgresBlobStore(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<FileStore>())
            : new FileBlobStore(sp.GetRequiredService<FileStore>()));
        services.AddSingleton<IQuantizationEngine, DsconvEngine>();
        services.AddSingleton<JobSubmitter>();
        services.AddScoped<QuantizationPipeline>();
        services.AddHostedService<StorageInitializer>();
        services.AddHostedService<JobRunnerService>();
        services.AddHostedService<JobMetricsCollector>();
        services.AddSingleton<OrphanSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<OrphanSweeper>());
        return builder;
    }

    private static void AddValidated<T>(IHostApplicationBuilder builder, string section, Func<T, IEnumerable<string>> validate)
        where T : class
    {
        builder.Services.AddOptions<T>()
            .Bind(builder.Configuration.GetSection(section))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<T>>(new ValidateByList<T>(validate));
    }

    private sealed class ValidateByList<T>(Func<T, IEnumerable<string>> validate) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var errors = validate(options).ToList();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
