using DSConvService.Api.Contracts;
using DSConvService.Api.Extensions;
using DSConvService.Api.Inference;
using DSConvService.Worker.Artifacts;
using DSConvService.Worker.Blobs;
using DSConvService.Worker.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace DSConvService.Api.Apis;

public static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/jobs").WithTags("Jobs");

        jobs.MapGet("/", ListJobs)
            .WithName("ListJobs")
            .WithSummary("List jobs, newest first (paged: page from 1, pageSize up to 100)")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        jobs.MapGet("/{id}", GetJob)
            .WithName("GetJob")
            .WithSummary("Status, progress, stage, error, options and (once succeeded) the report of a job")
            .ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapGet("/{id}/artifact", GetArtifact)
            .WithName("GetArtifact")
            .WithSummary("Download the quantized model (.onnx); ETag is its SHA-256, If-None-Match gives 304")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapDelete("/{id}", DeleteJob)
            .WithName("DeleteJob")
            .WithSummary("Cancel a queued or running job (202), or delete a finished one with its files (204)")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public static async Task<Results<Ok<JobListResponse>, ProblemHttpResult>> ListJobs(
        HttpContext http, IJobStore store, CancellationToken ct, int page = 1, int pageSize = 20)
    {
        if (page < 1 || pageSize is < 1 or > 100)
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid paging", detail: "page must be 1 or more and pageSize between 1 and 100.");
        }
        var result = await store.ListAsync(page, pageSize, http.Owner(), ct);
        return TypedResults.Ok(new JobListResponse(result.Items.Select(j => JobResponse.From(j, includeReport: false)).ToList(),
            result.Page, result.PageSize, result.Total));
    }

    public static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetJob(string id, HttpContext http, IJobStore store, CancellationToken ct)
    {
        var job = await store.GetAsync(id, http.Owner(), ct);
        return job is null ? NotFound(id) : TypedResults.Ok(JobResponse.From(job));
    }

    public static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> GetArtifact(
        string id, HttpContext http, IJobStore store, IBlobStore blobs, CancellationToken ct)
    {
        var job = await store.GetAsync(id, http.Owner(), ct);
        if (job is null)
        {
            return NotFound(id);
        }
        var content = job.Status == JobStatus.Succeeded && job.ArtifactSha256 is not null
            ? await blobs.OpenReadAsync(job.Id, BlobKind.Artifact, ct)
            : null;
        if (content is null)
        {
            return TypedResults.Problem(statusCode: 409, title: "No artifact yet",
                detail: $"Job {id} is {job.Status.ToApiName()}; the quantized model exists once the job has succeeded.");
        }
        var name = Path.GetFileNameWithoutExtension(job.Inputs.ModelFileName);
        return TypedResults.File(content, "application/octet-stream", $"{(name.Length > 0 ? name : "model")}.dsconv.onnx",
            entityTag: new EntityTagHeaderValue($"\"{job.ArtifactSha256}\""));
    }

    public static async Task<Results<Accepted<JobResponse>, NoContent, ProblemHttpResult>> DeleteJob(
        string id, HttpContext http, IJobStore store, IBlobStore blobs, DiskReserve reserve, ModelCache cache, CancellationToken ct)
    {
        var owner = http.Owner();
        var job = await store.GetAsync(id, owner, ct);
        if (job is null)
        {
            return NotFound(id);
        }
        if (!job.Status.IsFinished())
        {
            var cancelled = await store.RequestCancelAsync(id, owner, ct);
            return TypedResults.Accepted($"/jobs/{id}", JobResponse.From(cancelled ?? job));
        }
        if (await DeleteRowAsync(id, owner, store, blobs, reserve, ct))
        {
            cache.Evict(id);
            try
            {
                await blobs.DeleteJobAsync(id, ct);
            }
            catch (Exception e) when (e is IOException or System.Data.Common.DbException)
            {
                // The row is gone: the sweeper removes the blobs it could not delete now.
            }
        }
        return TypedResults.NoContent();
    }

    /// <summary>
    /// Deletes the row; on a full disk (the database cannot even log the delete) the job's files go
    /// first to make room, and when they are too small to make enough, the disk reserve is given back,
    /// so that deleting finished jobs always works and frees space.
    /// </summary>
    private static async Task<bool> DeleteRowAsync(string id, string? owner, IJobStore store, IBlobStore blobs, DiskReserve reserve, CancellationToken ct)
    {
        try
        {
            return await store.DeleteAsync(id, owner, ct);
        }
        catch (Exception e) when (StorageFaults.IsDiskFull(e))
        {
            await blobs.DeleteJobAsync(id, ct);
        }
        try
        {
            return await store.DeleteAsync(id, owner, ct);
        }
        catch (Exception e) when (StorageFaults.IsDiskFull(e) && reserve.Release())
        {
            return await store.DeleteAsync(id, owner, ct);
        }
    }

    internal static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: 404, title: "Job not found", detail: $"There is no job '{id}' (or it belongs to another API key).");
}
